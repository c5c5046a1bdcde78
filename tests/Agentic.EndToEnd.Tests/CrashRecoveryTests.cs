using System.Diagnostics;
using System.Globalization;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// Invariant 2: a run survives the process being killed at any point. The real host is SIGKILLed at random
/// moments while runs are submitted, approved and executed, and restarted on the same hub and port.
/// </summary>
public sealed class CrashRecoveryTests(AzuriteFixture storage, ITestOutputHelper output)
{
    private const int MinKills = 6;
    private const int MaxKills = 15;
    private const int FirstWave = 4;
    private const int PerKill = 2;

    [Fact]
    public async Task Host_KilledRepeatedlyWhileRunsAreInFlight_CompletesEveryAcceptedRunWithEachSideEffectOnce()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var seed = Environment.GetEnvironmentVariable("AGENTIC_E2E_SEED") is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (AGENTIC_E2E_SEED={seed} replays the same kill delays and submission order)");
        var killDelays = new Random(seed);
        var pacing = new Random(seed + 1);

        await using var fleet = await SampleFleet.StartAsync();
        await using var host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("crash"), new Dictionary<string, string?>
        {
            // Event-level detail (ignored redeliveries, contention) for the runs a failure message shows.
            ["Logging__LogLevel__Agentic.Runtime"] = "Debug",
        }, fleet);
        await host.StartAsync();
        using var client = new AgenticClient(host.BaseUri);
        var history = new HostHistory(host);
        var planned = await Workload.PrepareAsync(fleet, healers: 14, diagnostics: 6, probes: 3, pacing);
        // The operator takes a moment to approve, as people do: healer runs stay in flight across kills, and
        // approvals land at random points between them.
        var thinking = new Random(seed + 2);
        await using var tracker = new RunTracker(Caller.Operator, () => TimeSpan.FromMilliseconds(thinking.Next(500, 3000)));
        var clock = Stopwatch.StartNew();

        // A first few runs are in flight before the first kill; the rest trickle in while the host is being killed, a
        // few at a time with at least one kill between each few, so the runs span the kills however fast the host runs
        // them; and a POST cut off by a kill is sent again with the same idempotency key.
        foreach (var plan in planned.Take(FirstWave))
        {
            await tracker.SubmitAsync(plan, client, cancellationToken);
        }
        using var killed = new SemaphoreSlim(0);
        var submitting = Task.Run(async () =>
        {
            foreach (var few in planned.Skip(FirstWave).Chunk(PerKill))
            {
                while (killed.Wait(0))
                {
                }
                foreach (var plan in few)
                {
                    await Task.Delay(pacing.Next(300, 900), cancellationToken);
                    await tracker.SubmitAsync(plan, client, cancellationToken);
                }
                await killed.WaitAsync(cancellationToken);
            }
        }, cancellationToken);

        var kills = 0;
        var killsWithRunsInFlight = 0;
        // Kill until at least MinKills kills caught runs in flight and every run is submitted (runs can be quick).
        while ((killsWithRunsInFlight < MinKills || !submitting.IsCompleted) && kills < MaxKills)
        {
            var delay = TimeSpan.FromMilliseconds(killDelays.Next(300, 2500));
            await Task.Delay(delay, cancellationToken);
            var inFlight = tracker.Pending;
            var accepted = tracker.Runs.Count;
            var killedAt = clock.Elapsed;
            await host.KillAsync();
            history.Keep();
            var down = Stopwatch.StartNew();
            await host.StartAsync();
            kills++;
            killsWithRunsInFlight += inFlight > 0 ? 1 : 0;
            killed.Release();
            output.WriteLine(
                $"kill {kills}: {delay.TotalSeconds:0.00} s after the previous start, at t={killedAt.TotalSeconds:0.00} s; {accepted} accepted, {inFlight} not yet terminal; host back in {down.Elapsed.TotalSeconds:0.00} s");
        }
        // No more kills: whatever is left is submitted to the running host.
        killed.Release(planned.Count);
        await submitting.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);

        string Story() => HostOutput.Tail(host) + "\n--- every host process's lines about the runs that did not complete ---\n" +
            history.Mentioning(tracker.Runs.Where(r => r.Final?.Status != "completed").Select(r => r.Id));
        var runs = await tracker.WaitAllTerminalAsync(TimeSpan.FromMinutes(3), Story, cancellationToken);
        output.WriteLine(
            $"{runs.Count} runs accepted ({runs.Count(r => r.Plan.Heals)} healer, {runs.Count(r => !r.Plan.Heals)} diagnostics), all terminal at t={clock.Elapsed.TotalSeconds:0.0} s; " +
            $"{tracker.Resubmissions} POST(s) resent, {tracker.FoundExisting} found their run already started; {tracker.Approvals} approval(s) accepted, {tracker.FailedApprovals} failed and retried");
        foreach (var (reason, count) in tracker.SubmitFailures)
        {
            output.WriteLine($"  POST failed {count}x: {reason}");
        }
        Assert.Equal(planned.Count, runs.Count);
        Assert.True(killsWithRunsInFlight >= MinKills, $"Only {killsWithRunsInFlight} of {kills} kills hit runs in flight: the test did not exercise recovery (seed {seed}).");
        Outcomes.AssertAllCompleted(runs, Story);
        var effects = await Outcomes.AssertEachSideEffectOnceAsync(fleet, runs, cancellationToken);
        output.WriteLine($"side effects: {effects.Effects}, each applied once; {effects.Requests} restart request(s) reached the fleet, {effects.RepeatedKeys} key(s) requested more than once (answered from the idempotency cache)");
    }
}
