using System.Collections.Concurrent;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Monitors;
using Agentic.Core.Runs;
using Agentic.Core.Tests.Runs;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Core.Tests.Monitors;

/// <summary>
/// The monitors' ticks on a controllable clock: a real HTTP probe of a loopback service whose health the test sets, the
/// in-memory monitor store, and an engine that records the runs it is asked to start and reports them active until the
/// test ends them. No sleeps: the clock moves when the test says.
/// </summary>
public sealed class MonitorSchedulerTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly LoopbackOnlyNetwork _network = new();
    private readonly EgressClient _client;
    private readonly LoopbackServer _service;
    private volatile string _status = "healthy";
    private bool _serviceStopped;

    public MonitorSchedulerTests()
    {
        _client = new EgressClient(_network.ResolveAsync, _network.ConnectAsync);
        _service = LoopbackServer.Start(c => LoopbackServer.WriteAsync(c, 200, "application/json", $$"""{"status":"{{_status}}"}"""));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private FakeTimeProvider Clock { get; } = new(Start);

    private InMemoryMonitorStore Store { get; } = new();

    private FakeEngine Engine { get; } = new();

    public async ValueTask DisposeAsync()
    {
        if (!_serviceStopped)
        {
            await _service.DisposeAsync();
        }
        _client.Dispose();
        Assert.Empty(_network.Violations);
    }

    private string Target => _service.Url + "/services/checkout";

    private MonitorScheduler Scheduler(string cooldown = "10m", int ticksKept = 100, TimeProvider? clock = null)
    {
        var monitor = MonitorLoader.Load($"""
            name: checkout
            description: Probes checkout.
            schedule: "*/30 * * * * *"
            target: {Target}
            when: "!observation.healthy"
            incident: ${"{"}observation.source{"}"}
            agent: service-healer
            goal: Keep checkout healthy.
            cooldown: {cooldown}
            """, "agents/monitors/checkout.yaml");
        var admission = Admissions.For("dev", null, Admissions.Rule("http", "127.0.0.1", _service.Port, "/services/**", allowPrivate: true));
        var perception = new PerceiveActivity(admission.Targets, _client, TestAudit.InMemoryLog(), clock ?? Clock, AgentCatalog.Default);
        return new MonitorScheduler(new MonitorCatalog([monitor]), Store, perception, new RunAdmissions(admission.Agents, admission.Environment, admission.Targets), Options.Create(new MonitorOptions { TicksKept = ticksKept }),
            clock ?? Clock, NullLogger<MonitorScheduler>.Instance);
    }

    private async Task<MonitorTick> TickAsync(MonitorScheduler scheduler, bool pastDue = false) =>
        Assert.Single(await scheduler.TickDueAsync(Engine, pastDue, Ct));

    [Fact]
    public async Task ConditionFalse_IsRecorded_AndStartsNoRun()
    {
        var tick = await TickAsync(Scheduler());

        Assert.Equal(MonitorOutcomes.ConditionFalse, tick.Outcome);
        Assert.Equal(("healthy", Start, false, 0), (tick.ObservationStatus, tick.ScheduledAt, tick.PastDue, tick.Missed));
        Assert.Null(tick.RunId);
        Assert.Empty(Engine.Submitted);
        Assert.Equal(tick, Assert.Single(await Store.ListTicksAsync("checkout", 10, Ct)));
    }

    [Fact]
    public async Task ConditionHolds_StartsOneRun_AsTheMonitorsPrincipal_WithTheRequesterRoleOnly()
    {
        _status = "degraded";

        var tick = await TickAsync(Scheduler());

        Assert.Equal(MonitorOutcomes.Fired, tick.Outcome);
        var request = Assert.Single(Engine.Submitted);
        Assert.Equal(("monitor:checkout", "service-healer", Target, "Keep checkout healthy."), (request.Principal, request.Agent, request.Target, request.Goal));
        Assert.Equal(new[] { "requester" }, request.PrincipalRoles);
        Assert.Equal(RunIds.For(request), tick.RunId);
        Assert.True(RunIds.IsWellFormed(tick.RunId));
        var incident = $"http-probe:{Target}/health";
        Assert.Equal(incident, tick.Incident);
        Assert.Equal($"incident/{MonitorDefinition.IncidentId(incident)}/1", request.IdempotencyKey);
        Assert.Equal(new MonitorOrigin("checkout", Start, incident, tick.ObservationDigest!), request.Monitor);
    }

    [Fact]
    public async Task Singleton_WhileTheIncidentsRunIsActive_EveryLaterTickIsSuppressed_AndAfterItANewRunHasANewId()
    {
        _status = "degraded";
        var scheduler = Scheduler(cooldown: "0s");
        var first = await TickAsync(scheduler);

        var later = new List<MonitorTick>();
        for (var i = 0; i < 4; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(30));
            later.Add(await TickAsync(scheduler));
        }

        Assert.Single(Engine.Submitted);
        Assert.All(later, t => Assert.Equal((MonitorOutcomes.Suppressed, MonitorReasons.ActiveRun, first.RunId), (t.Outcome, t.Reason, t.RunId)));

        Engine.End(first.RunId!);
        Clock.Advance(TimeSpan.FromSeconds(30));
        var next = await TickAsync(scheduler);

        Assert.Equal(MonitorOutcomes.Fired, next.Outcome);
        Assert.NotEqual(first.RunId, next.RunId);
        Assert.EndsWith("/2", Engine.Submitted[1].IdempotencyKey, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlappingSignal_StartsNoStorm_OneRunPerIncidentPerCooldown()
    {
        var scheduler = Scheduler(cooldown: "10m");
        // Runs end as soon as they start (a healer that finds the service healthy again): only the cooldown holds the line.
        Engine.EndOnStart = true;

        var ticks = new List<MonitorTick>();
        for (var i = 0; i < 20; i++)
        {
            _status = i % 2 == 0 ? "degraded" : "healthy";
            ticks.Add(await TickAsync(scheduler));
            Clock.Advance(TimeSpan.FromSeconds(30));
        }

        Assert.Single(Engine.Submitted);
        Assert.Equal(MonitorOutcomes.Fired, ticks[0].Outcome);
        Assert.Equal(10, ticks.Count(t => t.Outcome == MonitorOutcomes.ConditionFalse));
        Assert.All(ticks.Skip(1).Where(t => t.Outcome != MonitorOutcomes.ConditionFalse),
            t => Assert.Equal((MonitorOutcomes.Suppressed, MonitorReasons.Cooldown, ticks[0].RunId), (t.Outcome, t.Reason, t.RunId)));

        // Ten minutes after the run started, the same incident may start another.
        _status = "degraded";
        var after = await TickAsync(scheduler);
        Assert.Equal((MonitorOutcomes.Fired, Start + TimeSpan.FromMinutes(10)), (after.Outcome, after.ScheduledAt));
        Assert.Equal(2, Engine.Submitted.Count);
    }

    [Fact]
    public async Task PastDue_AfterDowntime_TheMissedScheduleRunsOnce_MarkedPastDue_NotOncePerMissedTick()
    {
        var scheduler = Scheduler();
        await TickAsync(scheduler);

        // Down for ten minutes: twenty occurrences pass unticked.
        Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(7));
        var late = await scheduler.TickDueAsync(Engine, pastDue: false, Ct);

        var tick = Assert.Single(late);
        Assert.True(tick.PastDue);
        Assert.Equal((19, Start + TimeSpan.FromMinutes(10)), (tick.Missed, tick.ScheduledAt));
        // Nothing is left due until the next occurrence, which is on time again.
        Assert.Empty(await scheduler.TickDueAsync(Engine, pastDue: false, Ct));
        Clock.Advance(TimeSpan.FromSeconds(23));
        var onTime = await TickAsync(scheduler);
        Assert.Equal((false, 0, Start + TimeSpan.FromSeconds(630)), (onTime.PastDue, onTime.Missed, onTime.ScheduledAt));
        Assert.Equal([3, 2, 1], (await Store.ListTicksAsync("checkout", 10, Ct)).Select(t => (int)t.Seq));
    }

    [Fact]
    public async Task TimerPastDue_MarksTheTicksItTakes()
    {
        var tick = await TickAsync(Scheduler(), pastDue: true);

        Assert.True(tick.PastDue);
        Assert.Equal(0, tick.Missed);
    }

    [Fact]
    public async Task NothingDue_TicksNothing_AndTheNextDueIsTheNextOccurrence()
    {
        var scheduler = Scheduler();
        await TickAsync(scheduler);
        Clock.Advance(TimeSpan.FromSeconds(29));

        Assert.Empty(await scheduler.TickDueAsync(Engine, pastDue: false, Ct));
        Assert.Equal(Start + TimeSpan.FromSeconds(30), scheduler.NextDue(Clock.GetUtcNow()));
    }

    [Fact]
    public async Task TwoHosts_EvaluatingTheSameOccurrence_TickItOnce_AndStartOneRun()
    {
        _status = "degraded";
        var one = Scheduler();
        var two = Scheduler();

        var ticks = await Task.WhenAll(one.TickDueAsync(Engine, false, Ct), two.TickDueAsync(Engine, false, Ct));

        Assert.Single(ticks.SelectMany(t => t));
        Assert.Single(Engine.Submitted);
        Assert.Single(await Store.ListTicksAsync("checkout", 10, Ct));
    }

    [Fact]
    public async Task HostStoppedBetweenRecordingTheIncidentAndStartingItsRun_TheNextTickStartsThatSameRun()
    {
        _status = "degraded";
        var scheduler = Scheduler();
        Engine.FailNextSubmission = true;

        var failed = await TickAsync(scheduler);
        Clock.Advance(TimeSpan.FromSeconds(30));
        var retried = await TickAsync(scheduler);

        Assert.Equal(MonitorOutcomes.Error, failed.Outcome);
        Assert.Contains("engine unavailable", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(MonitorOutcomes.Fired, retried.Outcome);
        var started = Assert.Single(Engine.Submitted);
        Assert.Equal(RunIds.For(started), retried.RunId);
        Assert.EndsWith("/1", started.IdempotencyKey, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableTarget_IsAnUnhealthyObservation_AndFires()
    {
        _status = "degraded";
        var scheduler = Scheduler();
        _serviceStopped = true;
        await _service.DisposeAsync();

        var tick = await TickAsync(scheduler);

        Assert.Equal((MonitorOutcomes.Fired, "unreachable"), (tick.Outcome, tick.ObservationStatus));
    }

    [Fact]
    public async Task TickRecords_AreKeptToTheSetting_NewestFirst()
    {
        var scheduler = Scheduler(ticksKept: 3);
        for (var i = 0; i < 5; i++)
        {
            await TickAsync(scheduler);
            Clock.Advance(TimeSpan.FromSeconds(30));
        }

        Assert.Equal([5L, 4L, 3L], (await Store.ListTicksAsync("checkout", 10, Ct)).Select(t => t.Seq));
    }

    [Fact]
    public void Schedule_ReadsSixFieldNcrontab_InUtc_AndCountsWhatIsDue()
    {
        var everyFive = MonitorSchedule.Parse("0 */5 * * * *");

        Assert.Equal(new DateTimeOffset(2026, 3, 2, 10, 5, 0, TimeSpan.Zero), everyFive.Next(new DateTimeOffset(2026, 3, 2, 11, 2, 30, TimeSpan.FromHours(1))));
        var due = everyFive.Due(Start, Start + TimeSpan.FromMinutes(61));
        Assert.Equal((Start + TimeSpan.FromMinutes(5), Start + TimeSpan.FromMinutes(60), 12), due);
        Assert.Null(everyFive.Due(Start, Start + TimeSpan.FromMinutes(4)));
        // A schedule of every second left for a year: the latest occurrence without walking all of them.
        var year = MonitorSchedule.Parse("* * * * * *").Due(Start, Start + TimeSpan.FromDays(365));
        Assert.Equal((Start + TimeSpan.FromDays(365), MonitorSchedule.MaxCounted), (year!.Value.Latest, year.Value.Count));
        Assert.Equal(TimeSpan.FromHours(24), MonitorSchedule.Parse("0 0 9 * * *").LongestGap(Start));
        Assert.Null(MonitorSchedule.TryParse("0 */5 * * *", out var problem));
        Assert.Contains("has 5 fields", problem, StringComparison.Ordinal);
    }

    /// <summary>The engine as a monitor sees it: runs it was asked to start are active until ended.</summary>
    private sealed class FakeEngine : IMonitorRuns
    {
        private readonly ConcurrentDictionary<string, MonitorRunState> _runs = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public List<RunRequest> Submitted { get; } = [];

        public bool EndOnStart { get; set; }

        public bool FailNextSubmission { get; set; }

        public void End(string runId) => _runs[runId] = MonitorRunState.Ended;

        public Task<MonitorRunState> StateAsync(string runId, CancellationToken cancellationToken) =>
            Task.FromResult(_runs.GetValueOrDefault(runId, MonitorRunState.Missing));

        public Task SubmitAsync(RunRequest request, CancellationToken cancellationToken)
        {
            if (FailNextSubmission)
            {
                FailNextSubmission = false;
                throw new HttpRequestException("engine unavailable");
            }
            lock (_lock)
            {
                // Idempotent by run id, as the run client is.
                if (_runs.TryAdd(RunIds.For(request), EndOnStart ? MonitorRunState.Ended : MonitorRunState.Active))
                {
                    Submitted.Add(request);
                }
            }
            return Task.CompletedTask;
        }
    }
}
