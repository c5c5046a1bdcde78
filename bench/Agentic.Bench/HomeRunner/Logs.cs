using Microsoft.Extensions.Logging;

namespace Agentic.Bench.HomeRunner;

// The home runner's log messages as Agentic.Runtime had them (same ids), including those of the queue pump, the
// agent-runs listener and provisioning, which the product's Logs.cs keeps internal.
internal static partial class Logs
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Run {RunId} started.")]
    public static partial void RunStarted(this ILogger logger, string runId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Run {RunId} ended: {Status}.")]
    public static partial void RunEnded(this ILogger logger, string runId, RunStatus status);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Run {RunId}: event {EventId} already applied or not outstanding; ignored.")]
    public static partial void EventIgnored(this ILogger logger, string runId, string eventId);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Run {RunId}: concurrent update, retrying (attempt {Attempt}).")]
    public static partial void Contention(this ILogger logger, string runId, int attempt);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Control message for unknown run {RunId} dropped.")]
    public static partial void UnknownRun(this ILogger logger, string runId);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Re-dispatched {Count} outbox message(s) of run {RunId}.")]
    public static partial void Redispatched(this ILogger logger, string runId, int count);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Activity {Activity} of run {RunId} ({CommandId}) attempt {Attempt} failed: {Error}")]
    public static partial void ActivityAttemptFailed(this ILogger logger, string activity, string runId, string commandId, int attempt, string error);

    [LoggerMessage(EventId = 115, Level = LogLevel.Warning, Message = "Message {MessageId} on {Queue} can not be read (delivery {DequeueCount} of {MaxDequeueCount}; it is poisoned at the last): {Problem}")]
    public static partial void Unreadable(this ILogger logger, string queue, string messageId, long dequeueCount, int maxDequeueCount, string problem);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "Outbox sweep failed: {Error}")]
    public static partial void SweepFailed(this ILogger logger, string error);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Message moved to {Queue}: {Reason}")]
    public static partial void Poisoned(this ILogger logger, string queue, string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "Queue {Queue} unavailable, backing off {DelayMs} ms: {Error}")]
    public static partial void QueueUnavailable(this ILogger logger, string queue, int delayMs, string error);

    [LoggerMessage(EventId = 113, Level = LogLevel.Error, Message = "Handling a message from {Queue} failed; it will be retried after its lease.")]
    public static partial void HandlerFailed(this ILogger logger, Exception exception, string queue);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Queue {Queue}: stopping, {InFlight} message(s) in hand.")]
    public static partial void Draining(this ILogger logger, string queue, int inFlight);

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Storage not reachable yet ({Error}); retrying.")]
    public static partial void StorageWaiting(this ILogger logger, string error);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "Run request rejected to {Queue}: {Reason}")]
    public static partial void RunRequestRejected(this ILogger logger, string queue, string reason);
}
