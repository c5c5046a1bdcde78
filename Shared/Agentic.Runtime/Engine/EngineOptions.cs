using System.ComponentModel.DataAnnotations;

namespace Agentic.Runtime.Engine;

/// <summary>
/// Tuning of the local host's Durable Task engine (DurableTask.Core on Azure Storage) and its <c>agent-runs</c> queue
/// listener. Bound from:
/// <code>
/// "Agentic": { "Engine": {
///   "PartitionCount": 4, "MaxPollMilliseconds": 1000, "ControlVisibilitySeconds": 120, "WorkItemVisibilitySeconds": 60,
///   "LeaseSeconds": 30, "MaxConcurrentActivities": 32, "MaxConcurrentOrchestrations": 64,
///   "MaxTimerIntervalSeconds": 259200, "MaxDequeueCount": 5, "RequestVisibilitySeconds": 30, "ShutdownGraceSeconds": 20 } }
/// </code>
/// The defaults and what each costs are in the README's settings table.
/// </summary>
public sealed class EngineOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Agentic:Engine";

    /// <summary>Control queues of the task hub; at most this many hosts share the orchestration work. Fixed once a hub exists.</summary>
    [Range(1, 16)]
    public int PartitionCount { get; set; } = 4;

    /// <summary>Longest wait between polls of an empty queue (the engine's and the <c>agent-runs</c> listener's; polling backs off up to this).</summary>
    [Range(10, 60_000)]
    public int MaxPollMilliseconds { get; set; } = 1000;

    /// <summary>
    /// How long a received control-queue message stays invisible. A host that died holding one delays its run this long;
    /// one shorter than the time a busy host keeps messages buffered makes them reappear while in hand (duplicates).
    /// </summary>
    [Range(10, 600)]
    public int ControlVisibilitySeconds { get; set; } = 120;

    /// <summary>How long a received activity message stays invisible (renewed while the activity runs).</summary>
    [Range(10, 600)]
    public int WorkItemVisibilitySeconds { get; set; } = 60;

    /// <summary>How long a host's partition lease lasts without renewal: how soon another host takes over the partitions of one that died.</summary>
    [Range(9, 300)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>Activities executed at once by this host.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentActivities { get; set; } = 32;

    /// <summary>Orchestration work items (run wake-ups) processed at once by this host.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentOrchestrations { get; set; } = 64;

    /// <summary>A timer longer than this is a chain of timers of at most this length (Azure Storage queues hold a message at most 7 days).</summary>
    [Range(1, 6 * 24 * 3600)]
    public int MaxTimerIntervalSeconds { get; set; } = 3 * 24 * 3600;

    /// <summary>An <c>agent-runs</c> message whose run could not be started after this many deliveries goes to <c>agent-runs-poison</c>.</summary>
    [Range(1, 100)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>
    /// This host's name among the hosts of the hub (the owner recorded on its partition leases). A host restarted with
    /// the same name takes its partitions back at once instead of waiting for their leases to expire, so it must be
    /// unique among the hosts running at a time: the local host uses the machine name and its listening port. Empty:
    /// a fresh name per process.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "Agentic:Engine:WorkerId may hold only letters, digits, '.', '_' and '-' (at most 100).")]
    public string? WorkerId { get; set; }

    /// <summary>
    /// How long a received <c>agent-runs</c> message stays invisible (renewed while its run is started): how soon a start
    /// that failed is tried again, and so, with <see cref="MaxDequeueCount"/>, how soon it goes to <c>agent-runs-poison</c>.
    /// </summary>
    [Range(5, 600)]
    public int RequestVisibilitySeconds { get; set; } = 30;

    /// <summary>How long work in hand may take to finish on shutdown.</summary>
    [Range(0, 600)]
    public int ShutdownGraceSeconds { get; set; } = 20;
}
