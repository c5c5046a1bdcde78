using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Monitors;

/// <summary>What started a monitor's run: the monitor, the occurrence it ticked for, the incident key and what it saw.</summary>
/// <param name="Monitor">The monitor's name.</param>
/// <param name="Tick">The occurrence of its schedule.</param>
/// <param name="Incident">The incident key (cut at <see cref="MonitorDefinition.MaxIncidentText"/>).</param>
/// <param name="ObservationDigest">The digest of the evidence the monitor perceived.</param>
public sealed record MonitorOrigin(string Monitor, DateTimeOffset Tick, string Incident, string ObservationDigest);

/// <summary>Where a run stands, as a monitor needs to know it.</summary>
public enum MonitorRunState
{
    /// <summary>No such run (never started, or purged after it ended).</summary>
    Missing,
    /// <summary>Running, pending or suspended: the incident has its run.</summary>
    Active,
    /// <summary>Completed, failed or terminated.</summary>
    Ended,
}

/// <summary>The engine, as monitors use it: the state of a run by id, and submission (idempotent by run id).</summary>
public interface IMonitorRuns
{
    /// <summary>Where the run stands (the engine's instance status).</summary>
    Task<MonitorRunState> StateAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Starts the run, or finds it started (its id is <see cref="RunIds.For"/> of the request).</summary>
    Task SubmitAsync(RunRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// The monitors' ticks, the same code in both hosts (the local host's <c>MonitorService</c> and the Functions app's timer
/// trigger call <see cref="TickDueAsync"/>). For each enabled monitor with an occurrence due:
/// <list type="number">
/// <item>Claim the tick: the monitor's state moves to the occurrence under its version, so of hosts evaluating the same
/// occurrence one ticks. Occurrences missed since the last tick (downtime) are ticked once, marked past due, with how many
/// were missed; a monitor that never ticked starts with the occurrences of the last grace period.</item>
/// <item>Perceive the target through the monitor's signal, with the perceive activity's own code.</item>
/// <item>Evaluate the condition; when it holds, derive the incident key. The incident's current run (its row in the store)
/// suppresses the tick while the engine reports it active, and for the monitor's cooldown after it started, so a
/// flapping signal starts no storm. Otherwise the next occurrence of the incident is recorded first and its run
/// submitted: the run id derives (<see cref="RunIds"/>) from the monitor's principal, the agent and the idempotency key
/// <c>incident/{incident id}/{occurrence}</c>, so a second host, or a retry after a host stopped between the two, finds
/// the same run.</item>
/// <item>Record the tick's outcome (fired, condition-false, suppressed, error) and trim the monitor's records to the last
/// <see cref="MonitorOptions.TicksKept"/>.</item>
/// </list>
/// </summary>
public sealed class MonitorScheduler(
    MonitorCatalog monitors,
    IMonitorStore store,
    PerceiveActivity perception,
    RunAdmissions admissions,
    IOptions<MonitorOptions> options,
    TimeProvider clock,
    ILogger<MonitorScheduler> logger)
{
    /// <summary>The roles a monitor's principal holds: requester only.</summary>
    public static readonly IReadOnlyList<string> Roles = ["requester"];

    /// <summary>The monitors, with whether each is enabled.</summary>
    public MonitorCatalog Monitors => monitors;

    /// <summary>The store of their ticks and incidents.</summary>
    public IMonitorStore Store => store;

    /// <summary>Whether <paramref name="monitor"/> ticks here.</summary>
    public bool IsEnabled(MonitorDefinition monitor) => options.Value.IsEnabled(monitor);

    /// <summary>The next occurrence after <paramref name="now"/> of any enabled monitor, or null when none is enabled.</summary>
    public DateTimeOffset? NextDue(DateTimeOffset now)
    {
        DateTimeOffset? next = null;
        foreach (var monitor in monitors.Monitors.Where(IsEnabled))
        {
            var at = monitor.Schedule.Next(now);
            next = next is null || at < next ? at : next;
        }
        return next;
    }

    /// <summary>
    /// Ticks every enabled monitor with an occurrence due now, in parallel. <paramref name="pastDue"/> (the Functions timer's
    /// <c>IsPastDue</c>) marks every tick taken as past due. Answers the ticks this host took.
    /// </summary>
    public async Task<IReadOnlyList<MonitorTick>> TickDueAsync(IMonitorRuns runs, bool pastDue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var now = clock.GetUtcNow();
        var grace = options.Value.Grace(now);
        var ticks = await Task.WhenAll(monitors.Monitors.Where(IsEnabled).Select(m => TickIfDueAsync(m, runs, now, grace, pastDue, cancellationToken)));
        return [.. ticks.OfType<MonitorTick>()];
    }

    private async Task<MonitorTick?> TickIfDueAsync(MonitorDefinition monitor, IMonitorRuns runs, DateTimeOffset now, TimeSpan grace, bool hostPastDue, CancellationToken cancellationToken)
    {
        MonitorTick? tick = null;
        try
        {
            var state = await store.GetStateAsync(monitor.Name, cancellationToken);
            // A monitor that never ticked has missed nothing: it is due at an occurrence within the grace period only.
            if (monitor.Schedule.Due(state.LastScheduled ?? now - grace, now) is not { } due)
            {
                return null;
            }
            // Past due: the first occurrence since the last tick is older than any evaluation on schedule could have left it.
            var late = state.LastScheduled is not null && now - due.First > grace;
            tick = await store.ClaimAsync(state, new MonitorTick
            {
                Monitor = monitor.Name,
                Seq = state.Seq + 1,
                ScheduledAt = due.Latest,
                StartedAt = now,
                Outcome = MonitorOutcomes.Running,
                PastDue = late || hostPastDue,
                Missed = state.LastScheduled is null ? 0 : due.Count - 1,
            }, cancellationToken);
            if (tick is null)
            {
                // Another host claimed this occurrence.
                return null;
            }
            tick = await EvaluateAsync(monitor, tick, runs, cancellationToken);
        }
        catch (Exception ex) when (tick is not null && ex is not OperationCanceledException)
        {
            tick = tick with { Outcome = MonitorOutcomes.Error, Reason = $"{ex.GetType().Name}: {ex.Message}" };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store could not be read or the claim written: nothing was ticked; the next evaluation tries again.
            MonitorLogs.TickFailed(logger, monitor.Name, ex.GetType().Name, ex.Message);
            return null;
        }
        tick = tick with { CompletedAt = clock.GetUtcNow() };
        await store.CompleteAsync(tick, options.Value.TicksKept, cancellationToken);
        AgenticTelemetry.MonitorTicks.Add(1,
            new KeyValuePair<string, object?>("agentic.monitor.name", monitor.Name),
            new KeyValuePair<string, object?>("agentic.monitor.outcome", tick.Outcome),
            new KeyValuePair<string, object?>("agentic.monitor.past_due", tick.PastDue));
        MonitorLogs.Ticked(logger, monitor.Name, tick.Seq, tick.ScheduledAt, tick.Outcome, tick.Reason ?? "-", tick.RunId ?? "-", tick.PastDue, tick.Missed);
        return tick;
    }

    private async Task<MonitorTick> EvaluateAsync(MonitorDefinition monitor, MonitorTick tick, IMonitorRuns runs, CancellationToken cancellationToken)
    {
        Observation observation;
        try
        {
            observation = await perception.ObserveAsync(monitor.Target, monitor.Agent, monitor.Signal, cancellationToken);
        }
        catch (NonRetryableException ex)
        {
            return tick with { Outcome = MonitorOutcomes.Error, Reason = ex.Message };
        }
        tick = tick with { ObservationStatus = observation.Status, ObservationDigest = observation.Digest };
        if (!monitor.Holds(observation))
        {
            return tick with { Outcome = MonitorOutcomes.ConditionFalse };
        }
        var key = monitor.IncidentOf(observation);
        var id = MonitorDefinition.IncidentId(key);
        var text = key.Length <= MonitorDefinition.MaxIncidentText ? key : key[..MonitorDefinition.MaxIncidentText];
        tick = tick with { Incident = text };
        var origin = new MonitorOrigin(monitor.Name, tick.ScheduledAt, text, observation.Digest);

        var incident = await store.GetIncidentAsync(monitor.Name, id, cancellationToken);
        if (incident is not null)
        {
            var state = await runs.StateAsync(incident.RunId, cancellationToken);
            if (state == MonitorRunState.Active)
            {
                return tick with { Outcome = MonitorOutcomes.Suppressed, Reason = MonitorReasons.ActiveRun, RunId = incident.RunId };
            }
            if (state == MonitorRunState.Missing && !incident.Submitted)
            {
                // A host stopped between recording the incident's run and starting it: start that run, under the same id.
                await runs.SubmitAsync(Request(monitor, id, incident.Occurrence, origin, await admissions.CurrentAsync(cancellationToken)), cancellationToken);
                await store.SaveIncidentAsync(monitor.Name, incident with { Submitted = true }, cancellationToken);
                return tick with { Outcome = MonitorOutcomes.Fired, RunId = incident.RunId };
            }
            if (tick.StartedAt - incident.FiredAt < monitor.Cooldown)
            {
                return tick with { Outcome = MonitorOutcomes.Suppressed, Reason = MonitorReasons.Cooldown, RunId = incident.RunId };
            }
        }

        var occurrence = (incident?.Occurrence ?? 0) + 1;
        // Against the agents offered now, as a request over HTTP or the queue is.
        var request = Request(monitor, id, occurrence, origin, await admissions.CurrentAsync(cancellationToken));
        var runId = RunIds.For(request);
        // Recorded before the start: a host that stops between the two leaves the run to be started by the next tick.
        var opened = await store.SaveIncidentAsync(monitor.Name, new MonitorIncident(id, text, occurrence, runId, tick.StartedAt, Submitted: false) { ETag = incident?.ETag }, cancellationToken);
        if (opened is null)
        {
            var other = await store.GetIncidentAsync(monitor.Name, id, cancellationToken);
            return tick with { Outcome = MonitorOutcomes.Suppressed, Reason = MonitorReasons.ActiveRun, RunId = other?.RunId };
        }
        await runs.SubmitAsync(request, cancellationToken);
        await store.SaveIncidentAsync(monitor.Name, opened with { Submitted = true }, cancellationToken);
        return tick with { Outcome = MonitorOutcomes.Fired, RunId = runId };
    }

    // The run request a tick submits, parsed as every request is (agent, target rules, environment): requested by the
    // monitor's principal with the requester role only, its goal the monitor's literal one.
    private static RunRequest Request(MonitorDefinition monitor, string incidentId, int occurrence, MonitorOrigin origin, RunAdmission admission)
    {
        var goal = monitor.Goal ?? monitor.Description;
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            agent = monitor.Agent,
            target = monitor.Target,
            goal = goal.Length <= 2000 ? goal : goal[..2000],
            idempotencyKey = IdempotencyKey(incidentId, occurrence),
        }, AgenticJson.Options);
        return RunRequestParser.Parse(body, monitor.Principal, admission, Roles) with { Monitor = origin };
    }

    /// <summary>The idempotency key of an incident's <paramref name="occurrence"/>-th run (with the monitor's principal and agent, its run id).</summary>
    public static string IdempotencyKey(string incidentId, int occurrence) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"incident/{incidentId}/{occurrence}");
}

internal static partial class MonitorLogs
{
    [LoggerMessage(EventId = 150, Level = LogLevel.Information, Message = "Monitor {Monitor} ({Schedule}) runs {Agent}: {State} ({Source})")]
    public static partial void Offered(ILogger logger, string monitor, string schedule, string agent, string state, string source);

    [LoggerMessage(EventId = 151, Level = LogLevel.Information, Message = "Monitor {Monitor} tick {Seq} for {ScheduledAt:o}: {Outcome} ({Reason}), run {RunId}, past due {PastDue}, missed {Missed}")]
    public static partial void Ticked(ILogger logger, string monitor, long seq, DateTimeOffset scheduledAt, string outcome, [SecretData] string reason, string runId, bool pastDue, int missed);

    [LoggerMessage(EventId = 152, Level = LogLevel.Warning, Message = "Monitor {Monitor} could not tick ({Error}): {Message}; tried again at the next evaluation")]
    public static partial void TickFailed(ILogger logger, string monitor, string error, [SecretData] string message);
}
