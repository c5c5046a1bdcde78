using Agentic.Core.Activities;
using Agentic.Core.Audit;
using Agentic.Core.Monitors;
using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Runtime.Tests;

/// <summary>
/// Monitors on the engine and a real Azurite: a tick starts one run of the monitor's agent on its target, requested by
/// the monitor's principal, while the run is active the next tick is suppressed by it, and the ticks are in the monitors
/// table; the local host's timer ticks an enabled monitor on its own schedule.
/// </summary>
public sealed class MonitorTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>, IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _agents = Directory.CreateTempSubdirectory("agentic-monitors-");

    public void Dispose() => _agents.Delete(recursive: true);

    // The shipped service-healer beside a monitor of one fleet service.
    private Dictionary<string, string?> AgentsWithMonitor(string target, string schedule, bool enabled)
    {
        File.Copy(Path.Combine(Repo.Root, "agents", "service-healer.yaml"), Path.Combine(_agents.FullName, "service-healer.yaml"), overwrite: true);
        // With the data contract its signal names, beside it as in agents/.
        Directory.CreateDirectory(Path.Combine(_agents.FullName, "schemas"));
        foreach (var schema in Directory.EnumerateFiles(Path.Combine(Repo.Root, "agents", "schemas")))
        {
            File.Copy(schema, Path.Combine(_agents.FullName, "schemas", Path.GetFileName(schema)), overwrite: true);
        }
        Directory.CreateDirectory(Path.Combine(_agents.FullName, "monitors"));
        File.WriteAllText(Path.Combine(_agents.FullName, "monitors", "fleet.yaml"), $"""
            name: fleet
            description: Heals one fleet service.
            schedule: "{schedule}"
            enabled: {(enabled ? "true" : "false")}
            target: {target}
            when: "!observation.healthy"
            agent: service-healer
            cooldown: 10m
            """);
        return new() { ["Agentic:Agents:Path"] = _agents.FullName };
    }

    [Fact]
    public async Task Tick_StartsOneRunOfTheMonitorsAgent_AndASecondTickIsSuppressedWhileItIsActive()
    {
        var target = await Fleet.DegradedTargetAsync();
        // Off for the host's own timer: this test moves the clock of its own scheduler on the same hub.
        var runtime = await StartRuntimeAsync(AgentsWithMonitor(target, "0 */5 * * * *", enabled: false));
        var clock = new FakeTimeProvider(Start);
        var options = new MonitorOptions();
        options.Enabled["fleet"] = true;
        var scheduler = new MonitorScheduler(runtime.Services.GetRequiredService<MonitorCatalog>(), runtime.Services.GetRequiredService<IMonitorStore>(),
            runtime.Services.GetRequiredService<PerceiveActivity>(), runtime.Services.GetRequiredService<RunAdmissions>(), Options.Create(options), clock,
            NullLogger<MonitorScheduler>.Instance);
        var runs = new MonitorRuns(runtime.Runs);

        var first = Assert.Single(await scheduler.TickDueAsync(runs, pastDue: false, Ct));

        Assert.True(first.Outcome == MonitorOutcomes.Fired, $"{first.Outcome}: {first.Reason}\n{runtime.LogTail()}");
        var runId = first.RunId!;
        var waiting = await runtime.WaitAwaitingApprovalAsync(runId, "s2");
        Assert.Equal(("monitor:fleet", "service-healer", target), (waiting.View.Principal, waiting.View.Agent, waiting.View.Target));

        clock.Advance(TimeSpan.FromMinutes(5));
        var second = Assert.Single(await scheduler.TickDueAsync(runs, pastDue: false, Ct));

        Assert.Equal((MonitorOutcomes.Suppressed, MonitorReasons.ActiveRun, runId), (second.Outcome, second.Reason, second.RunId));
        Assert.Equal(new[] { runId }, await RunIdsAsync(runtime));

        // A human other than the monitor's principal approves the restart; the service recovers.
        await DecideAsync(runtime, runId);
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "remediated");
        clock.Advance(TimeSpan.FromMinutes(5));
        var third = Assert.Single(await scheduler.TickDueAsync(runs, pastDue: false, Ct));
        Assert.Equal(MonitorOutcomes.ConditionFalse, third.Outcome);

        // The table holds the ticks, newest first; the run's acceptance names the monitor and the tick that started it.
        var ticks = await runtime.Services.GetRequiredService<IMonitorStore>().ListTicksAsync("fleet", 10, Ct);
        Assert.Equal(new[] { MonitorOutcomes.ConditionFalse, MonitorOutcomes.Suppressed, MonitorOutcomes.Fired }, ticks.Select(t => t.Outcome));
        Assert.Equal(new[] { 3L, 2L, 1L }, ticks.Select(t => t.Seq));
        var accepted = (await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(runId, Ct)).First(r => r.Kind == AuditKinds.RunAccepted).Data;
        Assert.Equal(("monitor", "monitor:fleet"), (accepted.GetProperty("trigger").GetString(), accepted.GetProperty("principal").GetString()));
        Assert.Equal(new[] { "requester" }, accepted.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        var monitor = accepted.GetProperty("monitor");
        Assert.Equal(("fleet", Start, first.ObservationDigest), (monitor.GetProperty("name").GetString(), monitor.GetProperty("tick").GetDateTimeOffset(), monitor.GetProperty("observationDigest").GetString()));
    }

    [Fact]
    public async Task LocalHostTimer_TicksAnEnabledMonitorOnItsOwnSchedule()
    {
        var runtime = await StartRuntimeAsync(AgentsWithMonitor(Fleet.HealthyTarget(), "* * * * * *", enabled: true));
        var store = runtime.Services.GetRequiredService<IMonitorStore>();
        IReadOnlyList<MonitorTick> ticks = [];

        await WaitUntilAsync(async () => (ticks = await store.ListTicksAsync("fleet", 10, Ct)).Count(t => t.Outcome != MonitorOutcomes.Running) >= 3,
            "three ticks of a monitor due every second", describe: () => Task.FromResult(runtime.LogTail()));

        var done = ticks.Where(t => t.Outcome != MonitorOutcomes.Running).ToList();
        Assert.All(done, t => Assert.Equal((MonitorOutcomes.ConditionFalse, "healthy"), (t.Outcome, t.ObservationStatus)));
        Assert.Equal(done.Select(t => t.ScheduledAt).OrderDescending(), done.Select(t => t.ScheduledAt));
        Assert.Empty(await RunIdsAsync(runtime));
    }
}
