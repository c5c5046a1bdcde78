using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Runtime.Http;
using Agentic.EndToEnd.Tests.Support;
using Agentic.Testing;

namespace Agentic.EndToEnd.Tests;

/// <summary>
/// Storage going away under a running host: the host must stay up, and when storage comes back every run
/// must finish with nothing lost or repeated. This class stops its own Azurite, so it does not share one.
/// </summary>
public sealed class StorageOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);
    private readonly Azurite _azurite = new();

    public ValueTask InitializeAsync() => new(_azurite.StartAsync());

    public ValueTask DisposeAsync() => _azurite.DisposeAsync();

    [Fact]
    public async Task Host_StorageDownWhileRunsAreInFlight_StaysUpAndCompletesEveryRunOnceItReturns()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var fleet = await SampleFleet.StartAsync();
        await using var host = new AgenticHost(_azurite.ConnectionString, Hubs.New("outage"), new Dictionary<string, string?>
        {
            // The engine's account of each message (received, abandoned, completed) for the runs a failure message shows.
            ["Logging__LogLevel__DurableTask.AzureStorage"] = "Information",
            // The product's visibility timeouts, not the tests' short ones: a message the host holds through the outage
            // must not reappear while its session still retries, or it comes back as a duplicate whose receipt no longer
            // matches (the reason the defaults are longer than any outage the host should ride out without a restart).
            ["Agentic__Engine__ControlVisibilitySeconds"] = "120",
            ["Agentic__Engine__WorkItemVisibilitySeconds"] = "60",
            ["Logging__LogLevel__DurableTask.Core"] = "Information",
        }, fleet);
        await host.StartAsync();
        using var client = new AgenticClient(host.BaseUri);
        var planned = await Workload.PrepareAsync(fleet, healers: 5, diagnostics: 5, probes: 5, new Random(7));
        // Approvals come after a think time, so the healer runs are still waiting on them when storage goes away.
        var thinking = new Random(8);
        await using var tracker = new RunTracker(Caller.Operator, () => TimeSpan.FromMilliseconds(thinking.Next(1000, 4000)));
        foreach (var plan in planned)
        {
            await tracker.SubmitAsync(plan, client, cancellationToken);
        }

        var stopping = Stopwatch.StartNew();
        await _azurite.StopGracefullyAsync();
        var down = Stopwatch.StartNew();
        var inFlight = tracker.Pending;
        HealthView? unhealthy = null;
        while (down.Elapsed < Outage)
        {
            Assert.False(host.Process!.HasExited, $"The host exited {down.Elapsed.TotalSeconds:0.0} s into the storage outage:\n{HostOutput.Tail(host)}");
            // Health tells the outage: the gate would fail closed, so it answers 503 and names what is down.
            unhealthy ??= await HealthAsync(client, HttpStatusCode.ServiceUnavailable, cancellationToken);
            await Task.Delay(500, cancellationToken);
        }
        Assert.True(unhealthy is not null, "Health never answered 503 during the storage outage.");
        Assert.Equal("unavailable", unhealthy.Status);
        Assert.Equal("down", unhealthy.Checks!["storage"].Status);
        output.WriteLine($"health during the outage: {string.Join(", ", unhealthy.Checks.Select(c => $"{c.Key} {c.Value.Status} ({c.Value.Reason})"))}");
        await _azurite.StartAsync();
        output.WriteLine($"storage stopping for {(stopping.Elapsed - down.Elapsed).TotalSeconds:0.0} s, then down for {down.Elapsed.TotalSeconds:0.0} s, with {inFlight} of {planned.Count} run(s) not terminal");
        var back = Stopwatch.StartNew();

        var history = new HostHistory(host);
        string Story() => HostOutput.Tail(host) + "\n--- the host's lines about the runs that did not complete ---\n" +
            history.Mentioning(tracker.Runs.Where(r => r.Final?.Status != "completed").Select(r => r.Id));
        var runs = await tracker.WaitAllTerminalAsync(TimeSpan.FromMinutes(2), Story, cancellationToken);
        output.WriteLine($"all {runs.Count} run(s) terminal {back.Elapsed.TotalSeconds:0.0} s after storage came back; {tracker.FailedApprovals} approval post(s) failed and were retried");
        Assert.False(host.Process!.HasExited, $"The host exited after the storage outage:\n{HostOutput.Tail(host)}");
        var healthy = await HealthAsync(client, HttpStatusCode.OK, cancellationToken, TimeSpan.FromSeconds(30));
        Assert.True(healthy is { Status: "ok" }, "Health did not answer 200 again after storage came back.");
        Assert.True(inFlight > 0, "Every run had finished before storage went down: the test did not exercise the outage.");
        Outcomes.AssertAllCompleted(runs, Story);
        var effects = await Outcomes.AssertEachSideEffectOnceAsync(fleet, runs, cancellationToken);
        output.WriteLine($"side effects: {effects.Effects}, each applied once ({effects.Requests} request(s))");
    }

    // The health answer an operator gets, once it has the expected status (within the wait), else null.
    private static async Task<HealthView?> HealthAsync(AgenticClient client, HttpStatusCode expected, CancellationToken cancellationToken, TimeSpan? wait = null)
    {
        var until = DateTime.UtcNow + (wait ?? TimeSpan.Zero);
        do
        {
            try
            {
                using var response = await client.SendAsync(HttpMethod.Get, new Uri("/api/health", UriKind.Relative), null, Caller.Operator, cancellationToken);
                if (response.StatusCode == expected)
                {
                    return JsonSerializer.Deserialize<HealthView>(await response.Content.ReadAsStringAsync(cancellationToken), AgenticJson.Options);
                }
            }
            catch (Exception ex) when (AgenticClient.IsUnreachable(ex, cancellationToken))
            {
            }
            if (DateTime.UtcNow < until)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
        while (DateTime.UtcNow < until);
        return null;
    }
}
