using Agentic.Core.Telemetry;
using Agentic.Core.Workflow;
using Microsoft.Extensions.Logging;

namespace Agentic.Durable;

// Source-generated log messages of the workflow on the engine. Event ids 1-9: the orchestrator (through its
// replay-safe logger); 10-19: the run client; 20-29: activities; 30-39: retention. A parameter that can quote text from outside this
// code (an error, a failure reason) is [SecretData]: the hosts' redaction takes every known secret value out of it.
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Run {RunId} started: agent {Agent}, requested by {Principal}.")]
    public static partial void RunStarted(this ILogger logger, string runId, string agent, string principal);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Run {RunId}: {Change} applied, now {Phase}.")]
    public static partial void EventApplied(this ILogger logger, string runId, string change, RunPhase phase);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Run {RunId} continues as new after {Events} events (generation {Generation}).")]
    public static partial void ContinuedAsNew(this ILogger logger, string runId, int events, int generation);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Run {RunId} ended {Status}: {Summary}")]
    public static partial void RunEnded(this ILogger logger, string runId, string status, [SecretData] string? summary);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Run {RunId}: its end could not be recorded in the audit chain: {Error}")]
    public static partial void ConcludeFailed(this ILogger logger, string runId, [SecretData] string error);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Run {RunId} requested by {Principal} (new run: {Created}).")]
    public static partial void RunRequested(this ILogger logger, string runId, string principal, bool created);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Run {RunId}: {Decision} of step {StepId} recorded for {Approver}.")]
    public static partial void ApprovalRecorded(this ILogger logger, string runId, string stepId, string decision, string approver);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Run {RunId}: termination requested by {By}.")]
    public static partial void TerminationRequested(this ILogger logger, string runId, string by);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "{Activity} ({CommandId}) of run {RunId} timed out after {Seconds} s.")]
    public static partial void ActivityTimedOut(this ILogger logger, string activity, string commandId, string runId, string seconds);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Activity {Activity} of run {RunId} ({CommandId}) failed ({Retry}): {Error}")]
    public static partial void ActivityFailed(this ILogger logger, string activity, string runId, string commandId, string retry, [SecretData] string error);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "{Activity} ({CommandId}) of run {RunId} waits for another worker: {Reason}")]
    public static partial void ActivityBusy(this ILogger logger, string activity, string commandId, string runId, [SecretData] string reason);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Retention: {Purged} run(s) that ended before {Cutoff:o} purged (more left: {More}).")]
    public static partial void RetentionSwept(this ILogger logger, int purged, DateTimeOffset cutoff, bool more);
}
