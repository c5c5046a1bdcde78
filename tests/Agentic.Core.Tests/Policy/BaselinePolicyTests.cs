using Agentic.Core.Agents;
using Agentic.Core.Policy;
using Agentic.Core.Tests.Workflow;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Policy;

public sealed class BaselinePolicyTests
{
    private static readonly BaselinePolicy Policy = new();

    [Fact]
    public void Policy_IdentifiesItselfForTheDecisionRecord()
    {
        Assert.Equal("baseline", Policy.Id);
        Assert.Equal("1", Policy.Version);
    }

    [Theory]
    [InlineData(RiskLevel.Low)]
    [InlineData(RiskLevel.Critical)]
    public void ReadOnlyTool_IsPermitted_WhateverItsRisk(RiskLevel risk)
    {
        var result = Evaluate(Tool(risk, SideEffect.ReadOnly));

        Assert.Equal(new PolicyResult(GateEffect.Permit, "permit-read-only", "test.tool only reads."), result);
    }

    [Theory]
    [InlineData(RiskLevel.High, SideEffect.Reversible, "test.tool is high risk and changes state.")]
    [InlineData(RiskLevel.Critical, SideEffect.Irreversible, "test.tool is critical risk and changes state.")]
    public void HighOrCriticalRiskChange_NeedsAnOperatorsApproval(RiskLevel risk, SideEffect sideEffect, string reason)
    {
        var result = Evaluate(Tool(risk, sideEffect));

        Assert.Equal(new PolicyResult(GateEffect.RequireApproval, "approve-high-risk", reason, "operator"), result);
    }

    [Theory]
    [InlineData(RiskLevel.Low, SideEffect.Irreversible, "No rule permits test.tool (low risk, irreversible).")]
    [InlineData(RiskLevel.Medium, SideEffect.Reversible, "No rule permits test.tool (medium risk, reversible).")]
    public void OtherChange_IsForbiddenByDefault(RiskLevel risk, SideEffect sideEffect, string reason)
    {
        var result = Evaluate(Tool(risk, sideEffect));

        Assert.Equal(new PolicyResult(GateEffect.Forbid, "default-deny", reason), result);
    }

    [Theory]
    [InlineData("sample.health", GateEffect.Permit, "permit-read-only")]
    [InlineData("sample.diagnostics", GateEffect.Permit, "permit-read-only")]
    [InlineData("sample.restart", GateEffect.RequireApproval, "approve-high-risk")]
    [InlineData("sample.scale", GateEffect.Forbid, "default-deny")]
    public void SampleTools_GetTheirExpectedEffect(string name, GateEffect effect, string rule)
    {
        var tool = Assert.Single(SampleServiceTools.Create(new NoHttpClients()), t => t.Descriptor.Name == name);

        var result = Evaluate(tool.Descriptor);

        Assert.Equal(effect, result.Effect);
        Assert.Equal(rule, result.Rule);
    }

    [Fact]
    public void Evaluate_WithoutTool_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => Policy.Evaluate(Request("x"), null!));
    }

    private static PolicyResult Evaluate(ToolDescriptor tool) => Policy.Evaluate(Request(tool.Name), tool);

    private static GateInput Request(string tool) =>
        new("run-1", "s1", Fixtures.Principal, "service-healer", "prod", tool, TestJson.Parse("{}"), "sha256:x", 0);

    private static ToolDescriptor Tool(RiskLevel risk, SideEffect sideEffect) =>
        new("test.tool", "1.0.0", "A tool for tests.", risk, sideEffect, Idempotent: true, TimeSpan.FromSeconds(5), 1024);

    /// <summary>The policy only reads descriptors; nothing here may reach the network.</summary>
    private sealed class NoHttpClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("Policy tests make no HTTP calls.");
    }
}
