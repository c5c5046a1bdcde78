using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Telemetry;
using Agentic.Core.Workflow;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using CoreRetryOptions = Agentic.Core.Workflow.RetryOptions;

namespace Agentic.Durable;

/// <summary>The input of every orchestration: a request at start, the state snapshot at each ContinueAsNew.</summary>
/// <remarks>WARNING: kept in Durable history. Renaming or removing a member breaks runs in flight; add members as optional.</remarks>
public sealed record AgentRunInput(RunRequest? Request = null, AgentRunState? Snapshot = null, int Generation = 0);

/// <summary>The input of every activity call: the run, the command, the activity's input and the per-attempt timeout.</summary>
/// <remarks>WARNING: kept in Durable history; see <see cref="AgentRunInput"/>.</remarks>
public sealed record ActivityEnvelope(string RunId, string CommandId, JsonElement Input, TimeSpan Timeout);

/// <summary>The payload of the <c>terminate</c> event the HTTP API raises.</summary>
/// <remarks>WARNING: kept in Durable history; see <see cref="AgentRunInput"/>.</remarks>
public sealed record TerminateRequest(string? Reason = null, string? By = null);

/// <summary>
/// Interprets the workflow decider on the Durable Task engine: issues what <c>Decide</c> lists, turns the first task
/// to finish into an event, evolves, repeats. Replay is safe because the decider is pure and time comes from
/// <see cref="TaskOrchestrationContext.CurrentUtcDateTime"/>. The run id is the instance id. Both hosts run this
/// class: the Functions app from its orchestration trigger, the local host through the SDK's shim on
/// DurableTask.Core.
/// </summary>
/// <remarks>
/// A run that ends with <c>FailRun</c> is returned, not thrown: the output is the run's full document either way, so
/// <c>GET /api/runs/{id}</c> can show why it failed, and the engine's own Failed status is left to faults of this code.
/// </remarks>
public sealed class AgentRunOrchestrator(AgentWorkflow workflow) : ITaskOrchestrator
{
    // WARNING: the orchestration name and the event name are stored with every instance and in its history;
    // renaming either breaks runs in flight.

    /// <summary>The orchestration name.</summary>
    public const string Name = nameof(AgentRunOrchestrator);

    /// <summary>The event that asks a run to stop (payload: <see cref="TerminateRequest"/>).</summary>
    public const string TerminateEvent = "terminate";

    // While the run's document serializes to at most this many characters it is the custom status in full; a larger
    // one is summarized. Durable Functions keeps the custom status in a table column (16 KB of UTF-16 text).
    private const int FullStatusChars = 8000;

    // Every wake-up replays the history; starting over from the state snapshot keeps it short.
    private const int EventsPerGeneration = 100;

    private static readonly string NonRetryable = typeof(NonRetryableException).FullName!;

    private static readonly JsonElement NoPayload = AgenticJson.ToElement<object?>(null);

    // Recording a run's end is storage I/O that an outage may hold up: retried for about a minute.
    private const string ConcludeId = "conclude";
    private static readonly CoreRetryOptions ConcludeRetry = new(6, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(30));
    private static readonly TimeSpan ConcludeTimeout = TimeSpan.FromSeconds(60);

    Type ITaskOrchestrator.InputType => typeof(JsonElement);

    Type ITaskOrchestrator.OutputType => typeof(JsonElement?);

    async Task<object?> ITaskOrchestrator.RunAsync(TaskOrchestrationContext context, object? input) => await RunAsync(context);

    /// <summary>Runs (or replays) the orchestration of one run.</summary>
    public async Task<JsonElement?> RunAsync(TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<AgentRunOrchestrator>();
        var input = ReadInput(context);
        var state = input.Snapshot ?? workflow.Start(input.Request!, new StartContext(context.InstanceId, Now(context)));
        if (input.Snapshot is null)
        {
            logger.RunStarted(state.RunId, state.Request.Agent, state.Request.Principal);
        }

        var activities = new Dictionary<string, Task<JsonElement>>(StringComparer.Ordinal);
        var timers = new Dictionary<string, (Task Fired, CancellationTokenSource Cancel)>(StringComparer.Ordinal);
        // Waits are kept by event name and never cancelled: a cancelled Durable wait stays first in line for the
        // next event of its name and would swallow it. An event nobody wants any more reaches the decider, which
        // ignores it.
        var waits = new Dictionary<string, Task<JsonElement?>>(StringComparer.OrdinalIgnoreCase);
        // Attempts made so far per activity call with retries, for the failure's reason.
        var attempts = new Dictionary<string, int>(StringComparer.Ordinal);
        var terminate = context.WaitForExternalEvent<JsonElement?>(TerminateEvent);
        var applied = 0;
        try
        {
            while (true)
            {
                var commands = workflow.Decide(state);
                if (commands.FirstOrDefault(c => c is CompleteRun or FailRun) is { } end)
                {
                    // The custom status keeps the last running document while the end is recorded: a run is reported
                    // ended by its output, once its audit records are written and signed.
                    var final = RunView.From(state);
                    await ConcludeAsync(context, final, AgentWorkflow.TimedOutNotice(state), attempts, logger);
                    logger.RunEnded(state.RunId, final.Status, end is FailRun failed ? failed.Reason : final.Output?.Summary);
                    if (!context.IsReplaying)
                    {
                        RunTrace.RunEnded(state.RunId, state.Request.Agent, state.StartedAt, Now(context), final.Status, final.Output?.Outcome, final.FailureReason);
                    }
                    return AgenticJson.ToElement(final);
                }

                context.SetCustomStatus(new StatusDocument(state));

                // Timers the decider no longer lists are cancelled (a live timer keeps an orchestration open);
                // an activity can not be cancelled, so its result is dropped instead.
                var listed = commands.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
                foreach (var id in timers.Keys.Where(id => !listed.Contains(id)).ToList())
                {
                    timers[id].Cancel.Cancel();
                    timers[id].Cancel.Dispose();
                    timers.Remove(id);
                }
                foreach (var id in activities.Keys.Where(id => !listed.Contains(id)).ToList())
                {
                    activities.Remove(id);
                }

                // Start over only when nothing would be lost: no activity in flight, nothing finished unread.
                // Timers and waits are issued again from the snapshot; unread external events are carried over.
                if (applied >= EventsPerGeneration && activities.Count == 0 && !AnyFinished(timers, waits, terminate))
                {
                    logger.ContinuedAsNew(state.RunId, applied, input.Generation + 1);
                    context.ContinueAsNew(AgenticJson.ToElement(new AgentRunInput(Snapshot: state, Generation: input.Generation + 1)));
                    return null;
                }

                foreach (var command in commands)
                {
                    switch (command)
                    {
                        case CallActivity call when !activities.ContainsKey(call.Id):
                            var envelope = new ActivityEnvelope(context.InstanceId, call.Id, call.Input, call.Timeout);
                            activities[call.Id] = context.CallActivityAsync<JsonElement>(call.Name, AgenticJson.ToElement(envelope), Options(call.Id, call.Retry, attempts));
                            break;
                        case StartTimer timer when !timers.ContainsKey(timer.Id):
                            var cancel = new CancellationTokenSource();
                            timers[timer.Id] = (context.CreateTimer(timer.FireAt.UtcDateTime, cancel.Token), cancel);
                            break;
                        case WaitForEvent wait when !waits.ContainsKey(wait.EventName):
                            waits[wait.EventName] = context.WaitForExternalEvent<JsonElement?>(wait.EventName);
                            break;
                    }
                }

                var finished = await Task.WhenAny(
                    activities.Values.Concat<Task>(timers.Values.Select(t => t.Fired)).Concat(waits.Values).Append(terminate));
                var change = await ToEventAsync(finished, Now(context));
                var before = state;
                state = workflow.Evolve(state, change);
                // Telemetry of the run's own moves (approval waits) is recorded once: on the execution that applies
                // the event for the first time, with the times the workflow recorded, never on a replay.
                if (!context.IsReplaying)
                {
                    RunObservations.Evolved(before, state, change, workflow.IsTerminal(state));
                }
                applied++;
                var kind = change.GetType().Name;
                logger.EventApplied(state.RunId, kind, state.Phase);
            }
        }
        finally
        {
            foreach (var (_, cancel) in timers.Values)
            {
                cancel.Cancel();
                cancel.Dispose();
            }
        }

        async Task<WorkflowEvent> ToEventAsync(Task finished, DateTimeOffset at)
        {
            if (finished == terminate)
            {
                var payload = await terminate;
                terminate = context.WaitForExternalEvent<JsonElement?>(TerminateEvent);
                return Terminated(payload, at);
            }
            if (activities.FirstOrDefault(a => a.Value == finished).Key is { } activityId)
            {
                activities.Remove(activityId);
                try
                {
                    return new ActivityCompleted(activityId, await (Task<JsonElement>)finished, at);
                }
                catch (TaskFailedException ex)
                {
                    var cause = Cause(ex.FailureDetails);
                    var tried = attempts.Remove(activityId, out var count) && count > 1 ? $" (after {count} attempts)" : "";
                    return new ActivityFailed(activityId, cause.ErrorType, cause.ErrorMessage + tried, at);
                }
            }
            if (timers.FirstOrDefault(t => t.Value.Fired == finished).Key is { } timerId)
            {
                timers[timerId].Cancel.Dispose();
                timers.Remove(timerId);
                return new TimerFired(timerId, at);
            }
            var name = waits.First(w => w.Value == finished).Key;
            waits.Remove(name);
            return new EventRaised(name, await (Task<JsonElement?>)finished ?? NoPayload, at);
        }
    }

    // The run's end goes into its audit chain and a signed checkpoint (an activity: the orchestrator replays and never
    // writes) before the run reports it ended. A run whose end could not be recorded after every retry still ends: its
    // chain then verifies as not covered by a checkpoint, which is what verification reports.
    // WARNING: this activity call is part of every run's history from here on; removing it breaks runs in flight.
    private static async Task ConcludeAsync(TaskOrchestrationContext context, RunView final, Core.Agents.NotifyInput? timedOut, Dictionary<string, int> attempts, ILogger logger)
    {
        var envelope = new ActivityEnvelope(context.InstanceId, ConcludeId, AgenticJson.ToElement(ConcludeInput.From(final) with { ApprovalTimedOut = timedOut }), ConcludeTimeout);
        try
        {
            await context.CallActivityAsync<JsonElement>(Core.Agents.AgentActivities.Conclude, AgenticJson.ToElement(envelope), Options(ConcludeId, ConcludeRetry, attempts));
        }
        catch (TaskFailedException ex)
        {
            logger.ConcludeFailed(context.InstanceId, Cause(ex.FailureDetails).ErrorMessage);
        }
    }

    // The run's document as the custom status: in full while it is small, a bounded summary after. The SDK serializes
    // the custom status once, when the episode ends, so the document is built for the last state only, not on every
    // turn of the loop (a replay turns it once per event in the history).
    [System.Text.Json.Serialization.JsonConverter(typeof(StatusDocumentConverter))]
    private sealed class StatusDocument(AgentRunState state)
    {
        public AgentRunState State { get; } = state;
    }

    private sealed class StatusDocumentConverter : System.Text.Json.Serialization.JsonConverter<StatusDocument>
    {
        public override StatusDocument Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("The custom status is read as a RunView.");

        public override void Write(Utf8JsonWriter writer, StatusDocument value, JsonSerializerOptions options)
        {
            var full = JsonSerializer.SerializeToUtf8Bytes(RunView.From(value.State), AgenticJson.Options);
            if (full.Length <= FullStatusChars)
            {
                writer.WriteRawValue(full, skipInputValidation: true);
            }
            else
            {
                JsonSerializer.Serialize(writer, RunView.Summary(value.State), AgenticJson.Options);
            }
        }
    }

    private static AgentRunInput ReadInput(TaskOrchestrationContext context)
    {
        var raw = context.GetInput<JsonElement>();
        var input = raw.ValueKind == JsonValueKind.Object ? AgenticJson.FromElement<AgentRunInput>(raw) : null;
        if (input is null || (input.Request is null && input.Snapshot is null))
        {
            throw new InvalidOperationException($"Orchestration {context.InstanceId} was started without a run request or a state snapshot.");
        }
        return input;
    }

    private static DateTimeOffset Now(TaskOrchestrationContext context) =>
        new(DateTime.SpecifyKind(context.CurrentUtcDateTime, DateTimeKind.Utc));

    private static bool AnyFinished(
        Dictionary<string, (Task Fired, CancellationTokenSource Cancel)> timers,
        Dictionary<string, Task<JsonElement?>> waits,
        Task terminate) =>
        terminate.IsCompleted || timers.Values.Any(t => t.Fired.IsCompleted) || waits.Values.Any(w => w.IsCompleted);

    // The decider's retry options as a retry handler: the same backoff (DelayAfter) on a durable timer, no further attempt
    // after a NonRetryableException, and the number of attempts kept for the failure's reason. The handler runs in the
    // orchestration, so it replays like the rest of it.
    private static TaskOptions? Options(string commandId, CoreRetryOptions retry, Dictionary<string, int> attempts)
    {
        if (retry.MaxAttempts <= 1)
        {
            return null;
        }
        return TaskOptions.FromRetryHandler(async retrying =>
        {
            attempts[commandId] = retrying.LastAttemptNumber;
            if (retrying.LastAttemptNumber >= retry.MaxAttempts || IsNonRetryable(retrying.LastFailure))
            {
                return false;
            }
            var delay = retry.DelayAfter(retrying.LastAttemptNumber);
            if (delay > TimeSpan.Zero)
            {
                await retrying.OrchestrationContext.CreateTimer(delay, retrying.CancellationToken);
            }
            return true;
        });
    }

    private static bool IsNonRetryable(TaskFailureDetails? failure)
    {
        for (var f = failure; f is not null; f = f.InnerFailure)
        {
            if (string.Equals(f.ErrorType, NonRetryable, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    // The failure the decider records: the NonRetryableException if one is in the chain, else the top one.
    private static TaskFailureDetails Cause(TaskFailureDetails failure)
    {
        for (var f = failure; f is not null; f = f.InnerFailure)
        {
            if (string.Equals(f.ErrorType, NonRetryable, StringComparison.Ordinal))
            {
                return f;
            }
        }
        return failure;
    }

    private static RunTerminated Terminated(JsonElement? payload, DateTimeOffset at)
    {
        TerminateRequest? request = null;
        if (payload is { ValueKind: JsonValueKind.Object } body)
        {
            try
            {
                request = AgenticJson.FromElement<TerminateRequest>(body);
            }
            catch (JsonException)
            {
                // A malformed payload still terminates the run, with the defaults below.
            }
        }
        return new RunTerminated(request?.Reason ?? "Terminated.", request?.By ?? "unknown", at);
    }
}
