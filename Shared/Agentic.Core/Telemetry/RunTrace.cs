using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Agentic.Core.Telemetry;

/// <summary>
/// One trace per run, whichever host, process or replay records a part of it. A run's trace id and the span id of its
/// <c>invoke_agent</c> span are derived from the run id (SHA-256), so every activity on every host parents its span to
/// the run's root without anything carried in the run's input or the engine's history, and the root span, recorded
/// when the run ends (<see cref="RunEnded"/>), has exactly the id its children name.
/// </summary>
/// <remarks>
/// The orchestrator replays: it records spans only when not replaying and only with times from its deterministic
/// clock (the run's log), never as open spans around awaits.
/// </remarks>
public static class RunTrace
{
    // The BCL has no public way to give a span an id chosen in advance; DurableTask.Core, the Durable Functions
    // extension and durabletask-dotnet all set these private fields of Activity for the same reason (a span recorded
    // at its end under the id its children were given at its start). If a runtime renames them, the root keeps a
    // random id: its children stay in its trace, only the parent link is lost (the telemetry tests would say so).
    private static readonly FieldInfo? SpanIdField = typeof(Activity).GetField("_spanId", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? TraceIdField = typeof(Activity).GetField("_traceId", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? IdField = typeof(Activity).GetField("_id", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>The context of the run's <c>invoke_agent</c> span: the parent of every other span of the run.</summary>
    public static ActivityContext ContextOf(string runId)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("agentic-run:" + runId), hash);
        return new ActivityContext(ActivityTraceId.CreateFromBytes(hash[..16]), ActivitySpanId.CreateFromBytes(hash[16..24]), ActivityTraceFlags.Recorded, isRemote: true);
    }

    /// <summary>The step a workflow command belongs to (<c>s2/gate</c> is step <c>s2</c>), or <c>null</c> for run-level commands.</summary>
    public static string? StepOf(string commandId)
    {
        ArgumentNullException.ThrowIfNull(commandId);
        var slash = commandId.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? commandId[..slash] : null;
    }

    /// <summary>
    /// Starts the span of one activity attempt (<c>perceive</c>, <c>plan</c>, <c>gate</c>, <c>act</c>), a child of the
    /// run's root whatever span the host had open; <c>null</c> when nothing listens.
    /// </summary>
    public static Activity? StartActivity(string activity, string runId, string commandId)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var span = AgenticTelemetry.Source.StartActivity(activity.ToLowerInvariant(), ActivityKind.Internal, ContextOf(runId));
        if (span is not null)
        {
            span.SetTag(AgenticTelemetry.Attr.RunId, runId);
            span.SetTag(AgenticTelemetry.Attr.CommandId, commandId);
            if (StepOf(commandId) is { } step)
            {
                span.SetTag(AgenticTelemetry.Attr.StepId, step);
            }
        }
        return span;
    }

    /// <summary>Marks <paramref name="span"/> failed with the exception's type only: messages can quote data.</summary>
    public static void Failed(Activity? span, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        span?.SetStatus(ActivityStatusCode.Error).SetTag(AgenticTelemetry.Attr.ErrorType, exception.GetType().FullName);
    }

    /// <summary>
    /// Records the run's <c>invoke_agent</c> span (from its start to <paramref name="endedAt"/>, under the id
    /// <see cref="ContextOf"/> gives) and the run's metrics: called once, by the orchestrator, when the run ends.
    /// </summary>
    public static void RunEnded(string runId, string agent, DateTimeOffset startedAt, DateTimeOffset endedAt, string status, string? outcome, string? failureReason)
    {
        var outcomeOrStatus = string.IsNullOrEmpty(outcome) ? status : outcome;
        AgenticTelemetry.Runs.Add(1, new(AgenticTelemetry.Attr.AgentName, agent), new(AgenticTelemetry.Attr.RunStatus, status), new(AgenticTelemetry.Attr.RunOutcome, outcomeOrStatus));
        if (GuardOf(failureReason) is { } guard)
        {
            AgenticTelemetry.GuardTrips.Add(1, new(AgenticTelemetry.Attr.AgentName, agent), new(AgenticTelemetry.Attr.Guard, guard));
        }
        var root = ContextOf(runId);
        using var span = AgenticTelemetry.Source.StartActivity($"invoke_agent {agent}", ActivityKind.Internal, parentContext: default, startTime: startedAt);
        if (span is null)
        {
            return;
        }
        if (SpanIdField is not null && TraceIdField is not null && IdField is not null)
        {
            TraceIdField.SetValue(span, root.TraceId.ToHexString());
            SpanIdField.SetValue(span, root.SpanId.ToHexString());
            IdField.SetValue(span, $"00-{root.TraceId.ToHexString()}-{root.SpanId.ToHexString()}-01");
        }
        span.SetTag(AgenticTelemetry.Attr.OperationName, "invoke_agent")
            .SetTag(AgenticTelemetry.Attr.AgentName, agent)
            .SetTag(AgenticTelemetry.Attr.AgentId, runId)
            .SetTag(AgenticTelemetry.Attr.RunId, runId)
            .SetTag(AgenticTelemetry.Attr.RunStatus, status)
            .SetTag(AgenticTelemetry.Attr.RunOutcome, outcomeOrStatus);
        if (status != "completed")
        {
            span.SetStatus(ActivityStatusCode.Error);
        }
        span.SetEndTime(endedAt.UtcDateTime);
    }

    /// <summary>Records that a step started waiting for a human.</summary>
    public static void ApprovalRequested(string agent) =>
        AgenticTelemetry.ApprovalsPending.Add(1, new KeyValuePair<string, object?>(AgenticTelemetry.Attr.AgentName, agent));

    /// <summary>
    /// Records a finished approval wait: the pending count, the latency, and an <c>await_approval</c> span from the gate's
    /// request to the wait's end, a child of the run's root. The orchestrator calls it (not replaying) because only the
    /// workflow sees every way a wait ends: a quorum, a rejection, a timeout, a terminate or the deadline.
    /// </summary>
    public static void ApprovalEnded(string runId, string stepId, string agent, DateTimeOffset requestedAt, DateTimeOffset endedAt, string outcome)
    {
        AgenticTelemetry.ApprovalsPending.Add(-1, new KeyValuePair<string, object?>(AgenticTelemetry.Attr.AgentName, agent));
        AgenticTelemetry.ApprovalDuration.Record(Math.Max(0, (endedAt - requestedAt).TotalSeconds),
            new(AgenticTelemetry.Attr.AgentName, agent), new(AgenticTelemetry.Attr.ApprovalOutcome, outcome));
        using var span = AgenticTelemetry.Source.StartActivity("await_approval", ActivityKind.Internal, ContextOf(runId), startTime: requestedAt);
        if (span is null)
        {
            return;
        }
        span.SetTag(AgenticTelemetry.Attr.RunId, runId)
            .SetTag(AgenticTelemetry.Attr.StepId, stepId)
            .SetTag(AgenticTelemetry.Attr.ApprovalOutcome, outcome);
        span.SetEndTime(endedAt.UtcDateTime);
    }

    // The guards' failure reasons say "Guard: ..." (AgentWorkflow), the wall-clock guard's "Deadline exceeded: ...";
    // the kind is named by what the reason counts.
    private static string? GuardOf(string? reason)
    {
        if (reason is null)
        {
            return null;
        }
        if (reason.StartsWith("Deadline exceeded", StringComparison.Ordinal))
        {
            return "deadline";
        }
        var at = reason.IndexOf("Guard: ", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var guard = reason[at..];
        return guard switch
        {
            _ when guard.Contains("identical", StringComparison.Ordinal) => "identical_calls",
            _ when guard.Contains("tool call(s)", StringComparison.Ordinal) => "tool_calls",
            _ when guard.Contains("budget", StringComparison.Ordinal) => "budget",
            _ when guard.Contains("the plan has", StringComparison.Ordinal) => "steps",
            _ when guard.Contains("plan(s)", StringComparison.Ordinal) => "plans",
            _ => "other",
        };
    }
}

/// <summary>What the orchestrator reports as a run moves: approval waits starting and ending, and the run's end.</summary>
public static class RunObservations
{
    /// <summary>
    /// Compares the state before and after one event and records the approval waits it started or ended. The
    /// orchestrator calls it only when not replaying, so each transition is recorded once; times come from the run's
    /// log and the event, never from a clock.
    /// </summary>
    public static void Evolved(Workflow.AgentRunState before, Workflow.AgentRunState after, Workflow.WorkflowEvent change, bool ended)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(change);
        if (ReferenceEquals(before, after))
        {
            return;
        }
        var agent = after.Request.Agent;
        var waitingBefore = Waiting(before);
        var waitingAfter = ended ? [] : Waiting(after);
        for (var started = waitingAfter.Count(s => !waitingBefore.Contains(s)); started > 0; started--)
        {
            RunTrace.ApprovalRequested(agent);
        }
        foreach (var step in waitingBefore.Except(waitingAfter, StringComparer.Ordinal))
        {
            var requestedAt = after.Log.FirstOrDefault(l => l.Kind == "awaiting-approval" && l.StepId == step)?.At ?? change.At;
            var status = after.Steps.FirstOrDefault(s => s.StepId == step)?.Status;
            var outcome = status switch
            {
                Workflow.StepStatus.Acting or Workflow.StepStatus.Succeeded or Workflow.StepStatus.Failed or Workflow.StepStatus.Compensated => "approved",
                Workflow.StepStatus.Rejected when change is Workflow.TimerFired => "timed_out",
                Workflow.StepStatus.Rejected => "rejected",
                _ => "ended",
            };
            RunTrace.ApprovalEnded(after.RunId, step, agent, requestedAt, change.At, outcome);
        }
    }

    private static HashSet<string> Waiting(Workflow.AgentRunState state) =>
        state.Steps.Where(s => s.Status == Workflow.StepStatus.AwaitingApproval).Select(s => s.StepId).ToHashSet(StringComparer.Ordinal);
}
