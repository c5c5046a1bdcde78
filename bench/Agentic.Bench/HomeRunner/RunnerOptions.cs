using System.ComponentModel.DataAnnotations;

namespace Agentic.Bench.HomeRunner;

/// <summary>
/// Tuning of the local durable runner. Bound from:
/// <code>
/// "Agentic": { "Runner": {
///   "MaxConcurrentActivities": 32, "MaxConcurrentEvents": 16, "MaxDequeueCount": 5,
///   "WorkLeaseSeconds": 30, "ControlLeaseSeconds": 30, "MaxPollMilliseconds": 500,
///   "SweepSeconds": 10, "OutboxStaleSeconds": 15, "ShutdownGraceSeconds": 20 } }
/// </code>
/// </summary>
public sealed class RunnerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic:Runner";

    /// <summary>Activities executed at once by this process.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentActivities { get; set; } = 32;

    /// <summary>Events applied at once by this process (runs are still applied one event at a time each).</summary>
    [Range(1, 1024)]
    public int MaxConcurrentEvents { get; set; } = 16;

    /// <summary>A message received more often than this goes to the poison queue and its run is failed.</summary>
    [Range(1, 100)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>How long a received work item stays invisible; renewed while the activity runs.</summary>
    [Range(2, 600)]
    public int WorkLeaseSeconds { get; set; } = 30;

    /// <summary>How long a received control message stays invisible while its event is applied.</summary>
    [Range(2, 600)]
    public int ControlLeaseSeconds { get; set; } = 30;

    /// <summary>Longest wait between polls of an empty queue (polling backs off up to this).</summary>
    [Range(10, 60_000)]
    public int MaxPollMilliseconds { get; set; } = 500;

    /// <summary>How often undispatched outbox rows are looked for.</summary>
    [Range(1, 3600)]
    public int SweepSeconds { get; set; } = 10;

    /// <summary>An outbox row older than this is taken as left behind by a crash and dispatched again.</summary>
    [Range(1, 3600)]
    public int OutboxStaleSeconds { get; set; } = 15;

    /// <summary>How long work in hand may take to finish on shutdown before it is released.</summary>
    [Range(0, 600)]
    public int ShutdownGraceSeconds { get; set; } = 20;
}
