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

    private sealed class Baseline : Agentic.Core.Policy.IPolicyProvider
    {
        public ValueTask<Agentic.Core.Policy.ActivePolicies> GetAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult(new Agentic.Core.Policy.ActivePolicies(Agentic.Core.Policy.ShippedPolicies.Baseline));
    }

    private static readonly string Contract = """
        {"title":"Master services agreement","parties":[{"name":"Contoso","role":"customer"},{"name":"Fabrikam","role":"supplier"}],
         "effectiveDate":"2026-01-01","expiryDate":"2027-01-01","value":{"amount":1200000,"currency":"USD"},
         "clauses":[{"kind":"unlimited-liability","excerpt":"Supplier's liability is not limited."}]}
        """;

    // contract.record with the baseline, its service answering with Func<ToolCall, JsonElement> (or failing).
    private async Task<(GateDecision Decision, FakeTool Tool)> GateContractAsync(Func<ToolCall, System.Text.Json.JsonElement>? assess, string arguments, bool tainted = true)
    {
        var record = new FakeTool(SampleServiceTools.Descriptors.Single(d => d.Name == "contract.record"), TestJson.Parse("{}"), assess);
        var gate = new GateActivity(new Baseline(), new ToolRegistry([record]), _decisions, new NoControls(), Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System);
        var args = TestJson.Parse(arguments);
        var input = new GateInput("run-1", "s1", "queue:agent-runs", "contract-intake", "dev", "contract.record", args, AgenticJson.Digest(args), 0)
        {
            Autonomy = "supervised",
            Target = "http://127.0.0.1:7072/contracts/c-1",
            Tainted = tainted,
            TaintSources = tainted ? ["request.parameters"] : null,
        };
        var output = await gate.RunAsync(AgenticJson.ToElement(input), new ActivityContext("run-1", "c1", 1), TestContext.Current.CancellationToken);
        return (AgenticJson.FromElement<GateDecision>(output), record);
    }

    [Fact]
    public async Task Gate_AsksTheServiceToAssessTheCall_AndTheBaselineSendsAHighRiskContractToAReviewer()
    {
        var (decision, tool) = await GateContractAsync(_ => TestJson.Parse("""{"contract":"c-1","riskScore":90,"riskBand":"high"}"""), Contract);

        Assert.Equal((GateEffect.RequireApproval, "review-high-risk-contracts", "reviewer"), (decision.Effect, decision.Rule, decision.ApproverRole));
        var asked = Assert.Single(tool.Assessed);
        Assert.Equal(("http://127.0.0.1:7072/contracts/c-1", "contract-intake", "run-1/s1"), (asked.Target, asked.Agent, asked.IdempotencyKey));
        Assert.Equal(AgenticJson.Digest(TestJson.Parse(Contract)), AgenticJson.Digest(asked.Arguments));
        Assert.Equal(90, decision.Request!.Assessment!.Value.GetProperty("riskScore").GetInt32());
        Assert.Equal(0, tool.Calls);
    }

    [Fact]
    public async Task Gate_PermitsALowRiskContract_ThoughTheModelReadAnUntrustedDocument()
    {
        var (decision, _) = await GateContractAsync(_ => TestJson.Parse("""{"riskScore":5,"riskBand":"low"}"""), Contract);

        Assert.Equal((GateEffect.Permit, "permit-contract-intake"), (decision.Effect, decision.Rule));
        Assert.True(decision.Request!.Tainted);
    }

    [Fact]
    public async Task Gate_ForbidsACall_WhoseAssessmentBreaksTheAssessmentSchema_OrThatTheServiceRefusesToAssess()
    {
        var (broken, _) = await GateContractAsync(_ => TestJson.Parse("""{"riskScore":"high","riskBand":"unknown"}"""), Contract);
        Assert.Equal((GateEffect.Forbid, "invalid-assessment"), (broken.Effect, broken.Rule));
        Assert.StartsWith("The assessment of contract.record violates its assessment schema: ", broken.Reason, StringComparison.Ordinal);
        Assert.Null(broken.Request);

        var (refused, _) = await new GateActivityTests().GateContractAsync(_ => throw new ToolException("contract.record answered 400 Bad Request.", retryable: false), Contract);
        Assert.Equal((GateEffect.Forbid, "invalid-assessment", "contract.record could not be assessed: contract.record answered 400 Bad Request."), (refused.Effect, refused.Rule, refused.Reason));
    }

    [Fact]
    public async Task Gate_AServiceThatCanNotAnswerTheAssessment_FailsTheGate_AndDecidesNothing()
    {
        await Assert.ThrowsAsync<ToolException>(() => GateContractAsync(_ => throw new ToolException("contract.record timed out after 10 s.", retryable: true), Contract));

        Assert.Empty(_decisions.Recorded);
    }

    [Fact]
    public async Task Gate_NeverAsksForAnAssessment_OfArgumentsTheInputSchemaRefuses()
    {
        var (decision, tool) = await GateContractAsync(_ => TestJson.Parse("""{"riskScore":5,"riskBand":"low"}"""), """{"title":"x","contractId":"c-2"}""");

        Assert.Equal((GateEffect.Forbid, "invalid-arguments"), (decision.Effect, decision.Rule));
        Assert.Empty(tool.Assessed);
    }
}
