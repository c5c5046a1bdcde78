namespace Agentic.Core.Monitors;

/// <summary>What a tick came to.</summary>
public static class MonitorOutcomes
{
    /// <summary>Claimed and still going (or its host stopped before it finished).</summary>
    public const string Running = "running";

    /// <summary>The condition held and a run was started (or, after a host stopped between the two, started again).</summary>
    public const string Fired = "fired";

    /// <summary>The condition did not hold: nothing to do.</summary>
    public const string ConditionFalse = "condition-false";

    /// <summary>The condition held, but the incident has a run (<see cref="MonitorReasons.ActiveRun"/>) or had one too recently (<see cref="MonitorReasons.Cooldown"/>).</summary>
    public const string Suppressed = "suppressed";

    /// <summary>The tick could not perceive or start the run; its reason says why.</summary>
    public const string Error = "error";
}

/// <summary>Why a tick was suppressed.</summary>
public static class MonitorReasons
{
    /// <summary>The incident's run is still active (running, pending or suspended).</summary>
    public const string ActiveRun = "active-run";

    /// <summary>The incident's last run started less than the monitor's cooldown ago.</summary>
    public const string Cooldown = "cooldown";
}

/// <summary>
/// A monitor's tick record: when it was due (<see cref="ScheduledAt"/>) and ran, what it saw, what it did and the run it
/// started or was suppressed by. <see cref="PastDue"/> marks a tick taken late (after downtime), <see cref="Missed"/> the
/// occurrences it stands in for: a missed schedule runs once, not once per occurrence.
/// </summary>
public sealed record MonitorTick
{
    /// <summary>The monitor.</summary>
    public required string Monitor { get; init; }

    /// <summary>The tick's number for its monitor, from 1.</summary>
    public required long Seq { get; init; }

    /// <summary>The occurrence of the schedule it is for.</summary>
    public required DateTimeOffset ScheduledAt { get; init; }

    /// <summary>When a host claimed it.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>One of <see cref="MonitorOutcomes"/>.</summary>
    public required string Outcome { get; init; }

    /// <summary>For a suppressed tick one of <see cref="MonitorReasons"/>; for an error what went wrong.</summary>
    public string? Reason { get; init; }

    /// <summary>Whether the tick was taken later than its schedule allows (the host was down, or the timer fired late).</summary>
    public bool PastDue { get; init; }

    /// <summary>Occurrences since the previous tick that were not ticked on their own: this tick stands in for them.</summary>
    public int Missed { get; init; }

    /// <summary>The run it started, or the run that suppressed it.</summary>
    public string? RunId { get; init; }

    /// <summary>The incident key, as text (cut at <see cref="MonitorDefinition.MaxIncidentText"/>).</summary>
    public string? Incident { get; init; }

    /// <summary>The observation's status.</summary>
    public string? ObservationStatus { get; init; }

    /// <summary>The observation's evidence digest.</summary>
    public string? ObservationDigest { get; init; }
}

/// <summary>Where a monitor stands: the occurrence of its last tick and that tick's number; <see cref="ETag"/> null when it never ticked.</summary>
public sealed record MonitorState(DateTimeOffset? LastScheduled, long Seq, string? ETag);

/// <summary>
/// An incident of a monitor: its key, the run of its current occurrence (the <see cref="Occurrence"/>-th run for the key),
/// when it fired and whether the run was submitted. <see cref="ETag"/> is null for one not stored yet.
/// </summary>
public sealed record MonitorIncident(string Id, string Key, int Occurrence, string RunId, DateTimeOffset FiredAt, bool Submitted)
{
    /// <summary>The stored row's version.</summary>
    public string? ETag { get; init; }
}

/// <summary>
/// The monitors' state, ticks and incidents (the table <c>{hub}monitors</c>; <see cref="InMemoryMonitorStore"/> for tests).
/// A tick is claimed by moving the monitor's state to it under the state's version, so of hosts that evaluate the same
/// occurrence one ticks.
/// </summary>
public interface IMonitorStore
{
    /// <summary>The monitor's state (<c>ETag</c> null when it never ticked).</summary>
    Task<MonitorState> GetStateAsync(string monitor, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the monitor's state from <paramref name="state"/> to <paramref name="tick"/> (its occurrence and number) and
    /// stores the tick, both or neither; null when the state is no longer <paramref name="state"/> (another host claimed).
    /// </summary>
    Task<MonitorTick?> ClaimAsync(MonitorState state, MonitorTick tick, CancellationToken cancellationToken);

    /// <summary>Replaces the tick's record with its outcome, and drops the record <paramref name="keep"/> ticks older.</summary>
    Task CompleteAsync(MonitorTick tick, int keep, CancellationToken cancellationToken);

    /// <summary>The monitor's latest ticks, newest first.</summary>
    Task<IReadOnlyList<MonitorTick>> ListTicksAsync(string monitor, int max, CancellationToken cancellationToken);

    /// <summary>The incident, or null.</summary>
    Task<MonitorIncident?> GetIncidentAsync(string monitor, string incidentId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the incident: inserted when its <c>ETag</c> is null, else replaced under it. Answers it with its new version, or
    /// null when another writer came first.
    /// </summary>
    Task<MonitorIncident?> SaveIncidentAsync(string monitor, MonitorIncident incident, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IMonitorStore"/> in memory, with the table store's semantics (versions, claims, trimming).</summary>
public sealed class InMemoryMonitorStore : IMonitorStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, MonitorState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, long), MonitorTick> _ticks = [];
    private readonly Dictionary<(string, string), MonitorIncident> _incidents = [];
    private long _version;

    /// <inheritdoc />
    public Task<MonitorState> GetStateAsync(string monitor, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_states.TryGetValue(monitor, out var state) ? state : new MonitorState(null, 0, null));
        }
    }

    /// <inheritdoc />
    public Task<MonitorTick?> ClaimAsync(MonitorState state, MonitorTick tick, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tick);
        lock (_lock)
        {
            var current = _states.TryGetValue(tick.Monitor, out var stored) ? stored.ETag : null;
            if (current != state.ETag)
            {
                return Task.FromResult<MonitorTick?>(null);
            }
            _states[tick.Monitor] = new MonitorState(tick.ScheduledAt, tick.Seq, Next());
            _ticks[(tick.Monitor, tick.Seq)] = tick;
            return Task.FromResult<MonitorTick?>(tick);
        }
    }

    /// <inheritdoc />
    public Task CompleteAsync(MonitorTick tick, int keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tick);
        lock (_lock)
        {
            _ticks[(tick.Monitor, tick.Seq)] = tick;
            _ticks.Remove((tick.Monitor, tick.Seq - keep));
            return Task.CompletedTask;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<MonitorTick>> ListTicksAsync(string monitor, int max, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<MonitorTick>>([.. _ticks.Values.Where(t => t.Monitor == monitor).OrderByDescending(t => t.Seq).Take(max)]);
        }
    }

    /// <inheritdoc />
    public Task<MonitorIncident?> GetIncidentAsync(string monitor, string incidentId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_incidents.GetValueOrDefault((monitor, incidentId)));
        }
    }

    /// <inheritdoc />
    public Task<MonitorIncident?> SaveIncidentAsync(string monitor, MonitorIncident incident, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        lock (_lock)
        {
            var current = _incidents.GetValueOrDefault((monitor, incident.Id))?.ETag;
            if (current != incident.ETag)
            {
                return Task.FromResult<MonitorIncident?>(null);
            }
            var stored = incident with { ETag = Next() };
            _incidents[(monitor, incident.Id)] = stored;
            return Task.FromResult<MonitorIncident?>(stored);
        }
    }

    private string Next() => (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
