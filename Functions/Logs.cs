using Agentic.Core.Workflow;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// Source-generated log messages of the Functions host. Event ids 1-9: the orchestrator (through its
// replay-safe logger); 10-19: triggers; 20-29: activities; 30-39: start-up.
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Run {RunId} started: agent {Agent}, requested by {Principal}.")]
    public static partial void RunStarted(this ILogger logger, string runId, string agent, string principal);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Run {RunId}: {Change} applied, now {Phase}.")]
    public static partial void EventApplied(this ILogger logger, string runId, string change, RunPhase phase);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Run {RunId} continues as new after {Events} events (generation {Generation}).")]
    public static partial void ContinuedAsNew(this ILogger logger, string runId, int events, int generation);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Run {RunId} ended {Status}: {Summary}")]
    public static partial void RunEnded(this ILogger logger, string runId, string status, string? summary);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Run {RunId} requested through {Channel} (new run: {Created}).")]
    public static partial void RunRequested(this ILogger logger, string runId, string channel, bool created);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Queue message {MessageId} is not a valid run request (delivery {DequeueCount}): {Reason}")]
    public static partial void RunRequestRejected(this ILogger logger, string messageId, long dequeueCount, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Run {RunId}: {Decision} of step {StepId} recorded for {Approver}.")]
    public static partial void ApprovalRecorded(this ILogger logger, string runId, string stepId, string decision, string approver);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Run {RunId}: termination requested by {By}.")]
    public static partial void TerminationRequested(this ILogger logger, string runId, string by);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "{Activity} ({CommandId}) of run {RunId} timed out after {Seconds} s.")]
    public static partial void ActivityTimedOut(this ILogger logger, string activity, string commandId, string runId, string seconds);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Storage not reachable yet ({Error}); retrying before the tables are created.")]
    public static partial void StorageWaiting(this ILogger logger, string error);
}
