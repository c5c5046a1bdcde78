using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy;
using Agentic.Core.Tests.Workflow;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Policy;

/// <summary>The shipped baseline (policies/baseline.yaml, embedded in Agentic.Core) as the gate sees it.</summary>
public sealed class BaselinePolicyTests
{
    private static readonly Agentic.Core.Policy.Language.CompiledPolicy Policy = ShippedPolicies.Baseline;

    [Fact]
    public void Policy_IdentifiesItselfForTheDecisionRecord()
    {
        Assert.Equal("baseline", Policy.Id);
        Assert.Equal("4", Policy.Version);
        Assert.Equal(AgenticJson.Digest(File.ReadAllText(Language.PolicyFiles.Baseline)), Policy.ContentHash);
    }

    [Theory]
    [InlineData(RiskLevel.Low, "prod")]
    [InlineData(RiskLevel.Critical, "dev")]
    public void ReadOnlyTool_IsPermitted_WhateverItsRisk(RiskLevel risk, string environment)
    {
        var result = Evaluate(Tool(risk, SideEffect.ReadOnly), environment);

        Assert.Equal((GateEffect.Permit, "permit-read-only"), (result.Effect, result.Rule));
    }

    [Theory]
    [InlineData(RiskLevel.High, SideEffect.Reversible, "prod")]
    [InlineData(RiskLevel.Critical, SideEffect.Irreversible, "dev")]
    public void HighOrCriticalRiskChange_NeedsAnOperatorsApproval(RiskLevel risk, SideEffect sideEffect, string environment)
    {
        var result = Evaluate(Tool(risk, sideEffect), environment);

        Assert.Equal((GateEffect.RequireApproval, "approve-high-risk", "operator"), (result.Effect, result.Rule, result.ApproverRole));
    }

    [Theory]
    [InlineData(RiskLevel.Critical)]
    [InlineData(RiskLevel.Low)]
    public void IrreversibleChange_InProduction_IsForbiddenEvenWhenApprovalWouldApply(RiskLevel risk)
    {
        var result = Evaluate(Tool(risk, SideEffect.Irreversible), "prod");

        Assert.Equal((GateEffect.Forbid, "forbid-irreversible-in-prod"), (result.Effect, result.Rule));
    }

    [Theory]
    [InlineData(RiskLevel.Low, SideEffect.Irreversible)]
    [InlineData(RiskLevel.Medium, SideEffect.Reversible)]
    public void OtherChange_IsForbiddenByDefault(RiskLevel risk, SideEffect sideEffect)
    {
        var result = Evaluate(Tool(risk, sideEffect), "dev");

        Assert.Equal((GateEffect.Forbid, "default-deny"), (result.Effect, result.Rule));
    }

    [Theory]
    [InlineData("sample.health", GateEffect.Permit, "permit-read-only")]
    [InlineData("sample.diagnostics", GateEffect.Permit, "permit-read-only")]
    [InlineData("sample.restart", GateEffect.RequireApproval, "approve-high-risk")]
    [InlineData("sample.scale", GateEffect.Forbid, "default-deny")]
    public void SampleTools_GetTheirExpectedEffect(string name, GateEffect effect, string rule)
    {
        var tool = Assert.Single(SampleServiceTools.Descriptors, d => d.Name == name);

        var result = Evaluate(tool, "dev");

        Assert.Equal(effect, result.Effect);
        Assert.Equal(rule, result.Rule);
    }

    [Fact]
    public void Decide_WithoutTool_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => PolicyGate.Decide(new ActivePolicies(Policy), Request("x"), null!, DateTimeOffset.UnixEpoch));
    }

    // Autonomous: the policy's own answer, which autonomy levels can only tighten.
    private static GateDecision Evaluate(ToolDescriptor tool, string environment) =>
        PolicyGate.Decide(new ActivePolicies(Policy), Request(tool.Name, environment) with { Autonomy = Autonomy.Autonomous }, tool, DateTimeOffset.UnixEpoch);

    private static GateInput Request(string tool, string environment = "prod") =>
        new("run-1", "s1", Fixtures.Principal, "service-healer", environment, tool, TestJson.Parse("{}"), "sha256:x", 0);

    private static ToolDescriptor Tool(RiskLevel risk, SideEffect sideEffect) =>
        new("test.tool", "1.0.0", "A tool for tests.", risk, sideEffect, Idempotent: true, TimeSpan.FromSeconds(5), 1024);
}
