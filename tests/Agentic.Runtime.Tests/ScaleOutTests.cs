using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Agentic.Runtime.Queues;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>Several runtimes on one hub, and runtimes replacing each other, without losing or repeating work.</summary>
public sealed class ScaleOutTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task TwoRuntimesOnOneHub_CompleteEveryRunAndApplyEachSideEffectOnce()
    {
        LocalRuntime[] runtimes = [await StartRuntimeAsync(), await StartRuntimeAsync()];
        var diagnostics = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            diagnostics.Add(await SubmitAsync(runtimes[i % 2], Requests.Diagnostics(Fleet.HealthyTarget(), probes: 3)));
        }
        var healers = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            healers.Add(await SubmitAsync(runtimes[i % 2], Requests.Healer(await Fleet.DegradedTargetAsync())));
        }

        await ApproveWhenAwaitingAsync(runtimes, healers);
        var runs = await Task.WhenAll(diagnostics.Concat(healers).Select((id, i) => runtimes[i % 2].WaitTerminalAsync(id, TimeSpan.FromSeconds(90))));

        Assert.All(runs.Take(20), r => AssertCompleted(r, "done"));
        Assert.All(runs.Skip(20), r => AssertCompleted(r, "remediated"));
        await AssertEachHealerRestartedOnceAsync(healers);
    }

    [Fact]
    public async Task Runtime_StoppedMidFlight_ItsRunsCompleteOnTheNextRuntime()
    {
        var first = await StartRuntimeAsync();
        var diagnostics = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            diagnostics.Add(await SubmitAsync(first, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 5)));
        }
        List<string> healers = [await SubmitAsync(first, Requests.Healer(await Fleet.DegradedTargetAsync())), await SubmitAsync(first, Requests.Healer(await Fleet.DegradedTargetAsync()))];
        await first.WaitForAsync(diagnostics[0], r => r.Events >= 2, "under way");

        await first.StopAsync();

        var running = 0;
        foreach (var id in diagnostics)
        {
            running += (await first.Runs.GetAsync(id, Ct))!.Status == RunStatus.Running ? 1 : 0;
        }
        Assert.True(running > 0, "Every diagnostics run had finished before the stop: the test did not stop the runtime mid-flight.");
        var second = await StartRuntimeAsync();
        await ApproveWhenAwaitingAsync([second], healers);
        foreach (var id in diagnostics)
        {
            AssertCompleted(await second.WaitTerminalAsync(id), "done");
        }
        foreach (var id in healers)
        {
            AssertCompleted(await second.WaitTerminalAsync(id), "remediated");
        }
        await AssertEachHealerRestartedOnceAsync(healers);
    }

    [Fact]
    public async Task Runner_WhoseCachedStateAnotherRuntimeAdvanced_StillAppliesTheNextEvent()
    {
        // Deterministic interleaving of two runtimes on one hub, driving their runners directly: the first
        // applies the events up to the approval wait (and caches that state), the second applies the approval,
        // then the act's result reaches the first, as its pump could receive it.
        var first = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(first);
        await first.StopAsync();
        var second = CreateRuntime();
        var state = (await second.Runs.GetAsync(runId, Ct))!.State;
        var approval = new ApprovalDecision("approve", Approver, ["operator"], state.Steps[state.Current].ArgsDigest, null, DateTimeOffset.UtcNow);
        await second.Runner.ApplyAsync(new ControlMessage(runId, "ext:approval", new EventRaised("approval:s2", AgenticJson.ToElement(approval), DateTimeOffset.UtcNow), null, null), 1, Ct);
        var acting = (await second.Runs.GetAsync(runId, Ct))!;
        Assert.Equal(RunPhase.Acting, acting.State.Phase);

        var result = new ActResult("sample.restart", "1.0.0", 200, "restarted", AgenticJson.ToElement(new { }), Replayed: false);
        await first.Runner.ApplyAsync(new ControlMessage(runId, "done:s2/act", new ActivityCompleted("s2/act", AgenticJson.ToElement(result), DateTimeOffset.UtcNow), null, null), 1, Ct);

        var run = (await second.Runs.GetAsync(runId, Ct))!;
        Assert.True(run.Events == acting.Events + 1 && run.State.Phase == RunPhase.Verifying, "The act's result was not applied.\n" + LocalRuntime.Describe(run));
    }

    private static async Task ApproveWhenAwaitingAsync(LocalRuntime[] runtimes, List<string> healers)
    {
        for (var i = 0; i < healers.Count; i++)
        {
            var runtime = runtimes[i % runtimes.Length];
            await runtime.WaitAwaitingApprovalAsync(healers[i], "s2");
            await DecideAsync(runtime, healers[i]);
        }
    }

    private async Task AssertEachHealerRestartedOnceAsync(IEnumerable<string> healers)
    {
        foreach (var runId in healers)
        {
            await AssertAppliedOnceAsync(runId, "s2", "restart");
        }
    }
}
