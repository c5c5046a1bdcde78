using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

public sealed class GateActivityTests
{
    private readonly MemoryDecisionStore _decisions = new();
    private readonly PermitAllPolicy _policy = new();

    private async Task<GateDecision> GateAsync(string tool, string arguments)
    {
        var registry = new ToolRegistry(SampleServiceTools.Descriptors.Select(d => new FakeTool(d, TestJson.Parse("{}"))));
        var gate = new GateActivity(_policy, registry, _decisions, new NoControls(), Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System);
        var args = TestJson.Parse(arguments);
        var input = new GateInput("run-1", "s1", "alice", "scaler", "dev", tool, args, AgenticJson.Digest(args), 0);
        var output = await gate.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "c1", 1), TestContext.Current.CancellationToken);
        return AgenticJson.FromElement<GateDecision>(output);
    }

    [Fact]
    public async Task Gate_ForbidsArgumentsThatViolateTheSchema_AndRecordsTheDecision()
    {
        var decision = await GateAsync("sample.scale", """{"replicas":"3","zone":"eu"}""");

        Assert.Equal(GateEffect.Forbid, decision.Effect);
        Assert.Equal("invalid-arguments", decision.Rule);
        Assert.Equal("Arguments of sample.scale violate its input schema: $.replicas: expected integer, got string; $.zone: property is not allowed.", decision.Reason);
        Assert.Equal("1.2.0", decision.ToolVersion);
        var recorded = Assert.Single(_decisions.Recorded);
        Assert.Equal(decision, recorded);
        Assert.Null(decision.Request); // refused before the policy evaluated anything
    }

    [Fact]
    public async Task Gate_EvaluatesThePolicy_WhenTheArgumentsAreValid()
    {
        var decision = await GateAsync("sample.scale", """{"replicas":3}""");

        Assert.Equal(GateEffect.Permit, decision.Effect);
        Assert.Equal("allow-all", decision.Rule);
        Assert.Single(_decisions.Recorded);
        Assert.NotNull(decision.Request);
        Assert.Equal(1, _policy.Requests);
    }

    [Fact]
    public async Task Gate_ForbidsAnUnknownTool_AndRecordsTheDecision()
    {
        var decision = await GateAsync("sample.delete", "{}");

        Assert.Equal(GateEffect.Forbid, decision.Effect);
        Assert.Equal("unknown-tool", decision.Rule);
        Assert.Single(_decisions.Recorded);
    }

    [Fact]
    public async Task Gate_ExecutedAgainForTheSameStep_AnswersTheStoredDecision_WithoutEvaluating()
    {
        var first = await GateAsync("sample.scale", """{"replicas":3}""");

        var again = await GateAsync("sample.scale", """{"replicas":3}""");

        Assert.Equal(Json(first), Json(again));
        Assert.Equal(1, _policy.Requests);
        Assert.Single(_decisions.Recorded);
    }

    [Fact]
    public async Task Gate_ForAStepDecidedWithOtherArguments_FailsClosed_AndKeepsTheStoredDecision()
    {
        var first = await GateAsync("sample.scale", """{"replicas":3}""");

        var error = await Assert.ThrowsAsync<NonRetryableException>(() => GateAsync("sample.scale", """{"replicas":99}"""));

        Assert.Contains("was decided for sample.scale with arguments " + first.ArgsDigest, error.Message, StringComparison.Ordinal);
        Assert.Equal(Json(first), Json(Assert.Single(_decisions.Recorded)));
    }

    private static string Json(GateDecision decision) => AgenticJson.ToElement(decision).GetRawText();
}
