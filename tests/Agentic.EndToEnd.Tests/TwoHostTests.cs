using System.Diagnostics;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>Two hosts on one storage account and hub share its partitions: work is shared, never repeated.</summary>
public sealed class TwoHostTests(AzuriteFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task TwoHosts_OnOneHub_ShareTheRunsAndApplyEachSideEffectOnce()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var hub = Hubs.New("two");
        await using var fleet = await SampleFleet.StartAsync();
        await using var first = new AgenticHost(storage.Azurite.ConnectionString, hub, fleet: fleet);
        await using var second = new AgenticHost(storage.Azurite.ConnectionString, hub, fleet: fleet);
        await first.StartAsync();
        await second.StartAsync();
        using var firstApi = new AgenticClient(first.BaseUri);
        using var secondApi = new AgenticClient(second.BaseUri);
        var planned = await Workload.PrepareAsync(fleet, healers: 10, diagnostics: 20, probes: 3, new Random(11));
        await using var tracker = new RunTracker(Caller.Operator);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < planned.Count; i++)
        {
            await tracker.SubmitAsync(planned[i], i % 2 == 0 ? firstApi : secondApi, cancellationToken);
        }

        var runs = await tracker.WaitAllTerminalAsync(TimeSpan.FromMinutes(2), () => HostOutput.Tail(first, second), cancellationToken);
        // The engine logs a run's end as it completes the orchestration, so the last lines may trail the API by a moment.
        for (var wait = 0; wait < 50 && HostOutput.RunsEnded(first) + HostOutput.RunsEnded(second) < runs.Count; wait++)
        {
            await Task.Delay(100, cancellationToken);
        }
        var (endedByFirst, endedBySecond) = (HostOutput.RunsEnded(first), HostOutput.RunsEnded(second));
        output.WriteLine($"{runs.Count} run(s) terminal in {clock.Elapsed.TotalSeconds:0.0} s; runs ended by host 1: {endedByFirst}, by host 2: {endedBySecond}");
        Outcomes.AssertAllCompleted(runs, () => HostOutput.Tail(first, second));
        var effects = await Outcomes.AssertEachSideEffectOnceAsync(fleet, runs, cancellationToken);
        output.WriteLine($"side effects: {effects.Effects}, each applied once ({effects.Requests} request(s))");
        Assert.Equal(runs.Count, endedByFirst + endedBySecond);
        Assert.True(endedByFirst > 0 && endedBySecond > 0, $"One host did all the work (host 1 ended {endedByFirst} runs, host 2 {endedBySecond}).");
        Assert.False(first.Process!.HasExited || second.Process!.HasExited, HostOutput.Tail(first, second));
    }
}
