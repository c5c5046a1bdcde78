using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Scripted planners that try to get around the governance layer, run on the real runtime (real Azurite, the shipped
/// baseline policy, the real tools): one insists on a forbidden tool, one smuggles forbidden calls through argument
/// values, one repeats the same call forever. Each run ends denied or stopped, with the reason recorded, and nothing
/// forbidden reaches a service.
/// </summary>
public sealed class AdversarialPlannerTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly AgentCatalog Scripted = new(
    [
        new("insistent", "Always asks to send a message to a queue, plan after plan.", Insistent) { Autonomy = Autonomy.Autonomous, Guards = new RunGuards { MaxPlans = 5 } },
        new("smuggler", "Hides forbidden calls in argument values (parameters.variant picks how).", Smuggler) { Autonomy = Autonomy.Autonomous },
        new("looper", "Proposes the same diagnostics call forever.", Looper) { Guards = new RunGuards { MaxPlans = 50, MaxIdenticalCalls = 3 } },
        new("saga", "Scales up twice, expecting that to heal the service.", Saga) { Autonomy = Autonomy.Autonomous },
    ]);

    private async Task<LocalRuntime> StartScriptedAsync(IReadOnlyDictionary<string, string?>? settings = null) =>
        await StartRuntimeAsync(settings, services => services.AddSingleton(Scripted));

    // The request names no environment: the deployment's applies.
    private static RunRequest Request(string agent, string target, string environment = "dev", object? parameters = null) =>
        Requests.Parse(new { agent, target, parameters = parameters ?? new { } }, Scripted, environment);

    [Fact]
    public async Task InsistingOnAForbiddenTool_IsDeniedAtTheFirstAttempt_AndTheDenialIsRecorded()
    {
        var runtime = await StartScriptedAsync(new Dictionary<string, string?> { ["Agentic:Environment"] = "prod" });
        var runId = await SubmitAsync(runtime, Request("insistent", await Fleet.DegradedTargetAsync(), environment: "prod"));

        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "Step s1 (queue.send) forbidden by baseline rule 'forbid-irreversible-in-prod'");
        Assert.Equal(1, run.View.Plans); // a denial ends the run: no new plan gets another try
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.Equal((GateEffect.Forbid, "forbid-irreversible-in-prod"), (decision!.Effect, decision.Rule));
        Assert.Equal(0, run.View.ToolCalls);
        Assert.False((await runtime.Storage.Queues.GetQueueClient("orders").ExistsAsync(Ct)).Value, "Nothing may have been sent.");
    }

    [Fact]
    public async Task RequestWithoutAnEnvironment_InAProdDeployment_RunsInProd_SoForbidIrreversibleInProdFires()
    {
        var runtime = await StartScriptedAsync(new Dictionary<string, string?> { ["Agentic:Environment"] = "prod" });
        // Parsed the way the HTTP API and the queue listener parse it: with the deployment's own admission.
        var body = JsonSerializer.SerializeToUtf8Bytes(new { agent = "insistent", target = await Fleet.DegradedTargetAsync() });
        var admission = await runtime.Services.GetRequiredService<RunAdmissions>().CurrentAsync(Ct);
        var request = RunRequestParser.Parse(body, Requests.Requester, admission);

        var run = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, request));

        Assert.Equal("prod", run.View.Environment);
        AssertFailed(run, "Step s1 (queue.send) forbidden by baseline rule 'forbid-irreversible-in-prod'");
        Assert.Equal(0, run.View.ToolCalls);
    }

    [Fact]
    public async Task RequestNamingAnotherEnvironment_IsRefusedNamingBoth()
    {
        var runtime = await StartScriptedAsync(new Dictionary<string, string?> { ["Agentic:Environment"] = "prod" });
        var body = JsonSerializer.SerializeToUtf8Bytes(new { agent = "insistent", target = Fleet.HealthyTarget(), environment = "dev" });
        var admission = await runtime.Services.GetRequiredService<RunAdmissions>().CurrentAsync(Ct);

        var ex = Assert.Throws<InputException>(() => RunRequestParser.Parse(body, Requests.Requester, admission));

        var error = Assert.Single(ex.Errors);
        Assert.Equal("environment", error.Field);
        Assert.StartsWith("This deployment's environment is 'prod'; the request names 'dev'.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("extra-member", "sample.restart", "Arguments of sample.restart violate its input schema: $.command: property is not allowed.")]
    [InlineData("number-as-text", "sample.scale", "Arguments of sample.scale violate its input schema: $.replicas: expected integer, got string.")]
    [InlineData("out-of-range", "sample.scale", "Arguments of sample.scale violate its input schema: $.replicas: ")]
    public async Task SmugglingThroughArguments_IsRefusedAtTheGate_WithThePreciseViolation(string variant, string tool, string reason)
    {
        var runtime = await StartScriptedAsync();
        var runId = await SubmitAsync(runtime, Request("smuggler", Fleet.HealthyTarget(), parameters: new { variant }));

        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, $"Step s1 ({tool}) forbidden by baseline rule 'invalid-arguments'", reason);
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.Equal(GateEffect.Forbid, decision!.Effect);
        Assert.StartsWith(reason, decision.Reason, StringComparison.Ordinal);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Fact]
    public async Task SmugglingACloudMetadataAddress_IntoAPermittedRead_IsStoppedByTheEgressGuard()
    {
        // Even an allowlist that names the metadata host does not open it: the address itself is refused.
        var runtime = await StartScriptedAsync(new Dictionary<string, string?>
        {
            ["Agentic:Egress:Allow:0:Host"] = "169.254.169.254",
            ["Agentic:Egress:Allow:0:Methods:0"] = "GET",
            ["Agentic:Egress:Allow:0:Paths:0"] = "/**",
        });
        var runId = await SubmitAsync(runtime, Request("smuggler", Fleet.HealthyTarget(), parameters: new { variant = "metadata" }));

        var run = await runtime.WaitTerminalAsync(runId);

        var decision = await runtime.Governance.GetDecisionAsync(runId, "s1", Ct);
        Assert.Equal((GateEffect.Permit, "permit-http-reads"), (decision!.Effect, decision.Rule));
        AssertFailed(run, "Step s1 (http.request) failed", "169.254.169.254");
        Assert.Equal(nameof(StepStatus.Failed), run.View.Steps.Single().Status);
    }

    [Fact]
    public async Task RepeatingTheSameCallForever_IsStoppedByTheIdenticalCallGuard()
    {
        var runtime = await StartScriptedAsync();
        var runId = await SubmitAsync(runtime, Request("looper", await Fleet.DegradedTargetAsync()));

        var run = await runtime.WaitTerminalAsync(runId, TimeSpan.FromSeconds(60));

        AssertFailed(run, "Guard: sample.diagnostics was already called 3 time(s) with the same arguments", "at most 3 identical calls are allowed");
        Assert.Equal(4, run.View.Plans);
        Assert.Equal(3, run.View.ToolCalls);
        Assert.Contains(run.View.Log, e => e.Kind == "replanning");
    }

    [Fact]
    public async Task AFailedPostCondition_UndoesTheScaleSteps_InReverseOrder_ThroughTheGate()
    {
        var runtime = await StartScriptedAsync();
        var target = await Fleet.DegradedTargetAsync();
        var runId = await SubmitAsync(runtime, Request("saga", target));

        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "Post-condition not met", "Compensated: undid 2 step(s) (s2, s1) in reverse order.");
        Assert.Equal(["s1", "s2", "undo.s2", "undo.s1"], run.View.Steps.Select(s => s.StepId));
        Assert.Equal([nameof(StepStatus.Compensated), nameof(StepStatus.Compensated), nameof(StepStatus.Succeeded), nameof(StepStatus.Succeeded)], run.View.Steps.Select(s => s.Status));
        // Each undo was gated and recorded like any action, and applied once.
        var undo = await runtime.Governance.GetDecisionAsync(runId, "undo.s1", Ct);
        Assert.Equal((GateEffect.Permit, "permit-small-scale"), (undo!.Effect, undo.Rule));
        var effects = await Fleet.EffectsOfAsync(runId);
        Assert.Equal([$"{runId}/s1", $"{runId}/s2", $"{runId}/undo.s1", $"{runId}/undo.s2"], effects.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.All(effects, e => Assert.Equal(1, e.Applied));
        // Each undo restores what its step found: s2 found 5 (set by s1), s1 found what the first probe saw.
        var before = run.View.Observation!.Details.GetProperty("replicas").GetInt32();
        Assert.Equal(5, Replicas(run, "undo.s2"));
        Assert.Equal(before, Replicas(run, "undo.s1"));
    }

    private static int Replicas(AgentRun run, string stepId) =>
        run.View.Steps.Single(s => s.StepId == stepId).Arguments!.Value.GetProperty("replicas").GetInt32();

    private static Plan Saga(PlanInput input) =>
        new("scripted:saga",
        [
            new("s1", "sample.scale", AgenticJson.ToElement(new { replicas = 5 }), "More replicas."),
            new("s2", "sample.scale", AgenticJson.ToElement(new { replicas = 9 }), "Even more."),
        ], ExpectHealthy: true, "Scale up; it should heal.");

    private static Plan Insistent(PlanInput input) =>
        new("scripted:insistent", [new("s1", "queue.send", AgenticJson.ToElement(new { queue = "orders", message = new { order = 42, action = "refund" } }), "Send it, whatever the policy says.")],
            ExpectHealthy: true, $"Round {input.Round}: try the queue again.");

    private static Plan Smuggler(PlanInput input)
    {
        var variant = input.Parameters?.GetProperty("variant").GetString();
        var step = variant switch
        {
            "extra-member" => new PlanStep("s1", "sample.restart", AgenticJson.ToElement(new { reason = "routine", command = "rm -rf /" }), "A restart, with a passenger."),
            "number-as-text" => new PlanStep("s1", "sample.scale", AgenticJson.ToElement(new { replicas = "3; scale 500" }), "A number that is not one."),
            "out-of-range" => new PlanStep("s1", "sample.scale", AgenticJson.ToElement(new { replicas = 100000 }), "Scale far past any limit."),
            _ => new PlanStep("s1", "http.request", AgenticJson.ToElement(new { method = "GET", url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/" }), "Just a read."),
        };
        return new("scripted:smuggler", [step], ExpectHealthy: false, "Smuggle: " + variant);
    }

    private static Plan Looper(PlanInput input) =>
        new("scripted:looper", [new("s1", "sample.diagnostics", AgenticJson.ToElement(new { }), "Look again.")], ExpectHealthy: true, $"Round {input.Round}: look again.");
}
