using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure.Data.Tables;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Any number of local hosts on one hub: they split the control queues (partitions) between them and share the work
/// items; a host that stops gracefully finishes the work in its hands, and the others (or the next one) take over its
/// partitions and finish its runs, each side effect once. The fleet's delay is global, so these tests share a fleet
/// only with each other (one class).
/// </summary>
public sealed class ScaleOutTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    [Fact]
    public async Task TwoRuntimesOnOneHub_SplitThePartitions_AndCompleteEveryRunOnce_EachSideEffectOnce()
    {
        LocalRuntime[] runtimes = [await StartRuntimeAsync(), await StartRuntimeAsync()];
        await WaitForOwnersAsync(2);
        var diagnostics = new List<string>();
        var healers = new List<string>();

        for (var i = 0; i < 12; i++)
        {
            diagnostics.Add(await SubmitAsync(runtimes[i % 2], Requests.Diagnostics(Fleet.HealthyTarget(), probes: 1)));
        }
        for (var i = 0; i < 4; i++)
        {
            healers.Add(await SubmitAsync(runtimes[i % 2], Requests.Healer(await Fleet.DegradedTargetAsync())));
        }
        await ApproveWhenAwaitingAsync(runtimes, healers);

        foreach (var id in diagnostics)
        {
            AssertCompleted(await runtimes[0].WaitTerminalAsync(id), "done");
        }
        foreach (var id in healers)
        {
            AssertCompleted(await runtimes[1].WaitTerminalAsync(id), "remediated");
            await AssertAppliedOnceAsync(id, "s2", "restart");
        }
        // Each run ended once on the hub, on the runtime that held its partition: both did some of the work (16 runs
        // over two partitions all land on one with a chance of 1 in 32768).
        var ended = runtimes.Select(r => diagnostics.Concat(healers).Count(id => r.LogTail(2000).Contains($"Run {id} ended", StringComparison.Ordinal))).ToArray();
        Assert.True(ended.Sum() == diagnostics.Count + healers.Count && ended.All(n => n > 0), $"Runs ended by each runtime: {string.Join(", ", ended)}.");
    }

    [Fact]
    public async Task Runtime_StoppedGracefullyMidFlight_TheOtherTakesItsPartitionsAndFinishesEveryRun_EachSideEffectOnce()
    {
        var leaving = await StartRuntimeAsync();
        var staying = await StartRuntimeAsync();
        var diagnostics = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            diagnostics.Add(await SubmitAsync(leaving, Requests.Diagnostics(Fleet.HealthyTarget(), probes: 3)));
        }
        List<string> healers = [await SubmitHealerAwaitingApprovalAsync(leaving), await SubmitHealerAwaitingApprovalAsync(leaving)];
        // One restart is in the fleet's hands when the stop begins; the other run still waits for its approval.
        await Fleet.DelayNextAsync(TimeSpan.FromSeconds(2));
        await DecideAsync(leaving, healers[0]);
        await WaitForEffectAsync(healers[0], e => e.Requests == 1, "the restart in flight");

        await leaving.StopAsync();

        Assert.True((await staying.Runs.GetAsync(healers[1], Ct))!.IsRunning);
        await DecideAsync(staying, healers[1]);
        foreach (var id in diagnostics)
        {
            AssertCompleted(await staying.WaitTerminalAsync(id), "done");
        }
        foreach (var id in healers)
        {
            AssertCompleted(await staying.WaitTerminalAsync(id), "remediated");
            await AssertAppliedOnceAsync(id, "s2", "restart");
        }
        // Every partition is the staying runtime's now.
        await WaitForOwnersAsync(1);
    }

    [Fact]
    public async Task Runtime_StoppedWhileAnActIsInFlight_LetsItFinish_AndTheNextRuntimeCompletesTheRunWithoutRepeatingIt()
    {
        var first = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(first);
        await Fleet.DelayNextAsync(TimeSpan.FromSeconds(2));
        await DecideAsync(first, runId);
        await WaitForEffectAsync(runId, e => e.Requests == 1, "the restart in flight");

        await first.StopAsync();

        // The stop waited for the call: its outcome is in the ledger, and the run is left to the next runtime.
        var ledger = (await first.Governance.Table.GetEntityAsync<TableEntity>(runId, "action|s2", cancellationToken: Ct)).Value;
        Assert.NotNull(ledger.GetString("Outcome"));
        var stopped = await CreateRuntime().Runs.GetAsync(runId, Ct);
        Assert.True(stopped!.IsRunning, LocalRuntime.Describe(stopped));
        var next = await StartRuntimeAsync();
        AssertCompleted(await next.WaitTerminalAsync(runId), "remediated");
        await AssertAppliedOnceAsync(runId, "s2", "restart");
        Assert.Equal(1, (await Fleet.EffectsOfAsync(runId)).Single().Requests);
    }

    /// <summary>Waits until the hub's partitions are held by exactly <paramref name="count"/> distinct runtimes, every one owned.</summary>
    private async Task WaitForOwnersAsync(int count)
    {
        Dictionary<string, string?> owners = [];
        await WaitUntilAsync(async () =>
        {
            owners = await EngineStorage.OwnersAsync(Ct);
            return owners.Count == 2 && owners.Values.All(o => o is not null) && owners.Values.Distinct().Count() == count;
        }, $"partitions held by {count} runtime(s)", TimeSpan.FromSeconds(45), () => Task.FromResult(string.Join(", ", owners.Select(o => $"{o.Key}: {o.Value ?? "none"}"))));
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
}
