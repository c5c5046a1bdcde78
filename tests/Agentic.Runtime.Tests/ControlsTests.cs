using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Workflow;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>Kill switches and quarantines on the local host: engaged, the gate denies with the control's rule and reason.</summary>
public sealed class ControlsTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private const string Admin = "carol";

    private static IControlStore Controls(LocalRuntime runtime) => runtime.Services.GetRequiredService<IControlStore>();

    [Fact]
    public async Task ToolKillSwitch_RunReachingTheTool_FailsWithTheControlsRuleAndReasonWithoutSideEffect()
    {
        var runtime = await StartRuntimeAsync();
        await Controls(runtime).EngageAsync(ControlScope.Tool, "sample.restart", ControlKind.KillSwitch, "restarts are looping in eu-west", Admin, Ct);

        var runId = await SubmitAsync(runtime, Requests.Healer(await Fleet.DegradedTargetAsync()));
        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "forbidden by controls rule 'kill-switch:tool:sample.restart'", "restarts are looping in eu-west");
        Assert.Equal(nameof(StepStatus.Succeeded), run.View.Steps.Single(s => s.StepId == "s1").Status);
        Assert.Equal(nameof(StepStatus.Denied), run.View.Steps.Single(s => s.StepId == "s2").Status);
        var decision = await runtime.Governance.GetDecisionAsync(runId, "s2", Ct);
        Assert.NotNull(decision);
        Assert.Equal(GateEffect.Forbid, decision.Effect);
        Assert.Equal("controls", decision.PolicyId);
        Assert.Equal("kill-switch:tool:sample.restart", decision.Rule);
        Assert.Equal("restarts are looping in eu-west", decision.Reason);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
        var engaged = Assert.Single(await Controls(runtime).HistoryAsync(10, Ct));
        Assert.Equal(("engage", Admin, "restarts are looping in eu-west"), (engaged.Action, engaged.By, engaged.Reason));
    }

    [Fact]
    public async Task GlobalKillSwitch_EngagedMidRun_StopsTheRunAtItsNextStep()
    {
        var runtime = await StartRuntimeAsync();
        const int probes = 50;
        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), probes));
        await runtime.WaitForAsync(runId, r => r.View.Steps.Any(s => s.Status == nameof(StepStatus.Succeeded)), "past its first probe");

        await Controls(runtime).EngageAsync(ControlScope.Global, null, ControlKind.KillSwitch, "incident 42: stop everything", Admin, Ct);
        var run = await runtime.WaitTerminalAsync(runId);

        // The switch stops the next gate, or, if it lands between a step's gate and its call, the call itself.
        AssertFailed(run, "kill-switch:global", "incident 42: stop everything");
        var stopped = Assert.Single(run.View.Steps, s => s.Status is nameof(StepStatus.Denied) or nameof(StepStatus.Failed));
        var succeeded = run.View.Steps.Count(s => s.Status == nameof(StepStatus.Succeeded));
        Assert.InRange(succeeded, 1, probes - 1);
        Assert.All(run.View.Steps.Skip(succeeded + 1), s => Assert.Equal(nameof(StepStatus.Skipped), s.Status));
        if (stopped.Status == nameof(StepStatus.Denied))
        {
            var decision = await runtime.Governance.GetDecisionAsync(runId, stopped.StepId, Ct);
            Assert.Equal(("controls", "kill-switch:global", "incident 42: stop everything"), (decision?.PolicyId, decision?.Rule, decision?.Reason));
        }
    }

    [Fact]
    public async Task ToolKillSwitch_EngagedWhileAwaitingApproval_StopsTheApprovedStepBeforeItsCall()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);

        await Controls(runtime).EngageAsync(ControlScope.Tool, "sample.restart", ControlKind.KillSwitch, "restarts paused during the migration", Admin, Ct);
        await DecideAsync(runtime, runId);
        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "Stopped by kill-switch:tool:sample.restart", "restarts paused during the migration");
        Assert.Equal(nameof(StepStatus.Failed), run.View.Steps.Single(s => s.StepId == "s2").Status);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Fact]
    public async Task AgentKillSwitch_Released_LetsNewRunsThroughAndBothAreInTheHistory()
    {
        var runtime = await StartRuntimeAsync();
        var controls = Controls(runtime);
        await controls.EngageAsync(ControlScope.Agent, "diagnostics", ControlKind.KillSwitch, "probe storm", Admin, Ct);
        var stopped = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1)));
        AssertFailed(stopped, "rule 'kill-switch:agent:diagnostics'", "probe storm");

        Assert.True(await controls.ReleaseAsync(ControlScope.Agent, "diagnostics", ControlKind.KillSwitch, "storm over", Admin, Ct));
        Assert.False(await controls.ReleaseAsync(ControlScope.Agent, "diagnostics", ControlKind.KillSwitch, "again", Admin, Ct));

        var run = await runtime.WaitTerminalAsync(await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 2)));
        Assert.True(run.Status == "completed", LocalRuntime.Describe(run));
        Assert.Empty(await controls.ListActiveAsync(Ct));
        var history = await controls.HistoryAsync(10, Ct);
        Assert.Equal(["release", "engage"], history.Select(h => h.Action));
        Assert.Equal("storm over", history[0].Reason);
    }

    [Fact]
    public async Task ControlChecks_OnAnotherHost_SeeAnEngageAndAReleaseAtTheirNextCheck_AndAnswerFromTheSetListedUnderTheSameVersion()
    {
        // Two hosts on one hub, each with its own store (and cache).
        var controls = Controls(await StartRuntimeAsync());
        var admin = Controls(await StartRuntimeAsync());
        Assert.Empty(await controls.GetActiveAsync("diagnostics", "sample.diagnostics", Ct));

        await admin.EngageAsync(ControlScope.Tool, "sample.diagnostics", ControlKind.KillSwitch, "bad probe", Admin, Ct);
        var engaged = Assert.Single(await controls.GetActiveAsync("diagnostics", "sample.diagnostics", Ct));
        Assert.Equal("kill-switch:tool:sample.diagnostics", engaged.Rule);
        Assert.Empty(await controls.GetActiveAsync("diagnostics", "sample.restart", Ct));

        // A row written behind the store's back (no version change) is not seen: the check answered from the set it
        // listed under the version it read, one row, not the three control rows.
        var table = new global::Azure.Data.Tables.TableClient(Azurite.ConnectionString, Hub + "controls");
        await table.UpsertEntityAsync(new global::Azure.Data.Tables.TableEntity("agent", "diagnostics")
        {
            ["KillSwitch"] = System.Text.Json.JsonSerializer.Serialize(new ControlState(ControlScope.Agent, "diagnostics", ControlKind.KillSwitch, "unannounced", Admin, DateTimeOffset.UtcNow), Core.Json.AgenticJson.Options),
        }, cancellationToken: Ct);
        Assert.Single(await controls.GetActiveAsync("diagnostics", "sample.diagnostics", Ct));

        // The next change through a store changes the version: both are seen, and a release is seen at the next check.
        Assert.True(await admin.ReleaseAsync(ControlScope.Tool, "sample.diagnostics", ControlKind.KillSwitch, "fixed", Admin, Ct));
        Assert.Equal(["kill-switch:agent:diagnostics"], (await controls.GetActiveAsync("diagnostics", "sample.diagnostics", Ct)).Select(c => c.Rule));
    }

    [Fact]
    public async Task Quarantine_OfSampleRestart_ForbidsItButNotOtherTools()
    {
        var runtime = await StartRuntimeAsync();
        await Controls(runtime).EngageAsync(ControlScope.Tool, "sample.restart", ControlKind.Quarantine, "suspected bad release of the restart tool", Admin, Ct);

        var runId = await SubmitAsync(runtime, Requests.Healer(await Fleet.DegradedTargetAsync()));
        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "rule 'quarantine:tool:sample.restart'", "suspected bad release");
        Assert.Equal(nameof(StepStatus.Succeeded), run.View.Steps.Single(s => s.StepId == "s1").Status);
        Assert.Equal("quarantine:tool:sample.restart", (await runtime.Governance.GetDecisionAsync(runId, "s2", Ct))?.Rule);
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
        var active = Assert.Single(await Controls(runtime).ListActiveAsync(Ct));
        Assert.Equal((ControlScope.Tool, "sample.restart", ControlKind.Quarantine, Admin), (active.Scope, active.Target, active.Kind, active.EngagedBy));
    }

    [Fact]
    public async Task Quarantine_OutsideToolScope_IsRefused()
    {
        var runtime = await StartRuntimeAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => Controls(runtime).EngageAsync(ControlScope.Global, null, ControlKind.Quarantine, "no", Admin, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Controls(runtime).EngageAsync(ControlScope.Agent, "diagnostics", ControlKind.Quarantine, "no", Admin, Ct));
        Assert.Empty(await Controls(runtime).ListActiveAsync(Ct));
    }

    [Fact]
    public async Task ControlStoreUnreachable_GateFailsClosed()
    {
        var runtime = await StartRuntimeAsync(services: s => s.AddSingleton<IControlStore, UnreachableControls>());

        var runId = await SubmitAsync(runtime, Requests.Diagnostics(Fleet.HealthyTarget(), 1));
        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "Gate unavailable", "failing closed", "control store down");
        Assert.Equal(nameof(StepStatus.Denied), run.View.Steps.Single().Status);
        Assert.Null(await runtime.Governance.GetDecisionAsync(runId, "s1", Ct));
    }

    private sealed class UnreachableControls : IControlStore
    {
        public Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken) => throw Down();

        public Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken) => throw Down();

        public Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken) => throw Down();

        public Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken) => throw Down();

        public Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken) => throw Down();

        private static HttpRequestException Down() => new("control store down");
    }
}
