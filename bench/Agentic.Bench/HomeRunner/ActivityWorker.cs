using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Activities;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Bench.HomeRunner;

/// <summary>
/// Executes work items: one activity attempt each, with its timeout. Success and final failure go back
/// to the run as events; a retryable failure re-enqueues the next attempt after the retry back-off.
/// The work message is deleted only after the follow-up message is sent, so a crash repeats the attempt
/// (activities are idempotent: the act activity through its ledger) rather than losing it.
/// </summary>
public sealed class ActivityWorker<TInput, TState>(
    DurableRunner<TInput, TState> runner,
    ActivityRegistry activities,
    PayloadStore payloads,
    StorageClients storage,
    TimeProvider clock,
    IOptions<RunnerOptions> options,
    ILogger<ActivityWorker<TInput, TState>> logger)
{
    private readonly int _maxInline = storage.Options.MaxInlineBytes;

    /// <summary>Handles one work-queue message.</summary>
    public async Task<MessageOutcome> HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var item = Wire.Read<WorkItem>(message, w =>
            string.IsNullOrEmpty(w.RunId) || string.IsNullOrEmpty(w.CommandId) || string.IsNullOrEmpty(w.Name) || w.Retry is null || (w.Input is null && w.InputRef is null)
                ? "it needs a run id, a command id, an activity name, a retry policy and an input" : null, out var problem);
        if (item is null)
        {
            return await Poison.UnreadableAsync(storage.Queue("work-poison"), message, "Not a work item: " + problem, options.Value.MaxDequeueCount, runner.FailAsync, clock, logger, cancellationToken);
        }
        if (message.DequeueCount > options.Value.MaxDequeueCount)
        {
            if (!await runner.IsOutstandingAsync(item.RunId, item.CommandId, cancellationToken))
            {
                // A left-over copy of work the run no longer waits for (a duplicate after a crash): nothing to fail.
                return MessageOutcome.Complete;
            }
            var reason = $"Activity {item.Name} ({item.CommandId}) was dequeued {message.DequeueCount} times without finishing; moved to {storage.Queue("work-poison").Name}.";
            await Poison.MoveAsync(storage.Queue("work-poison"), message, reason, clock, logger, cancellationToken);
            await ReportAsync(item, new ActivityFailed(item.CommandId, "PoisonMessage", reason, clock.GetUtcNow()), cancellationToken);
            return MessageOutcome.Complete;
        }
        if (!activities.TryGet(item.Name, out var activity))
        {
            await ReportAsync(item, new ActivityFailed(item.CommandId, "UnknownActivity", $"No activity named '{item.Name}' is registered.", clock.GetUtcNow()), cancellationToken);
            return MessageOutcome.Complete;
        }

        var input = item.Input ?? JsonDocument.Parse(await payloads.GetAsync(item.InputRef!, cancellationToken)).RootElement;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(item.Timeout);
        string errorType;
        string error;
        var retryable = true;
        try
        {
            var result = await activity.RunAsync(input, new ActivityContext(item.RunId, item.CommandId, item.Attempt), timeout.Token);
            await ReportAsync(item, new ActivityCompleted(item.CommandId, result, clock.GetUtcNow()), cancellationToken);
            return MessageOutcome.Complete;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return MessageOutcome.Release;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            (errorType, error) = (nameof(TimeoutException), $"{item.Name} did not finish within {item.Timeout.TotalSeconds:0.#} s.");
        }
        catch (ActivityBusyException ex)
        {
            var wait = (ex.RetryAfter ?? clock.GetUtcNow()) - clock.GetUtcNow() + TimeSpan.FromMilliseconds(100);
            await runner.SendWorkAsync(item, TimeSpan.FromTicks(Math.Clamp(wait.Ticks, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(60).Ticks)), cancellationToken);
            return MessageOutcome.Complete;
        }
        catch (NonRetryableException ex)
        {
            (errorType, error, retryable) = (ex.InnerException?.GetType().Name ?? nameof(NonRetryableException), ex.Message, false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            (errorType, error) = (ex.GetType().Name, ex.Message);
        }

        logger.ActivityAttemptFailed(item.Name, item.RunId, item.CommandId, item.Attempt, error);
        if (retryable && item.Attempt < item.Retry.MaxAttempts)
        {
            await runner.SendWorkAsync(item with { Attempt = item.Attempt + 1 }, item.Retry.DelayAfter(item.Attempt), cancellationToken);
            return MessageOutcome.Complete;
        }
        var attempts = item.Attempt == 1 ? "" : $" (after {item.Attempt} attempts)";
        await ReportAsync(item, new ActivityFailed(item.CommandId, errorType, error + attempts, clock.GetUtcNow()), cancellationToken);
        return MessageOutcome.Complete;
    }

    private Task ReportAsync(WorkItem item, WorkflowEvent change, CancellationToken cancellationToken) =>
        runner.SendControlAsync(new ControlMessage(item.RunId, "done:" + item.CommandId, change, null, null), TimeSpan.Zero, cancellationToken);
}

/// <summary>
/// Reads the runner's queue messages: a message that does not parse, does not deserialize (a missing or unknown
/// <c>$type</c>, members of the wrong type) or misses what it must carry is reported, never thrown.
/// </summary>
internal static class Wire
{
    public static T? Read<T>(QueueMessage message, Func<T, string?> missing, out string? problem) where T : class
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(message.Body.ToMemory().Span, AgenticJson.Options);
            problem = value is null ? "the message is JSON null" : missing(value);
            return problem is null ? value : null;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException or FormatException or OverflowException or InvalidCastException)
        {
            // Deserialization is pure: whatever it throws, the message can not be read by this version.
            problem = ex is JsonException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            return null;
        }
    }

    /// <summary>The run id an unreadable message names (a string member <c>runId</c> of a JSON object), if it names one.</summary>
    public static string? RunIdOf(QueueMessage message)
    {
        try
        {
            using var document = JsonDocument.Parse(message.Body.ToMemory(), new JsonDocumentOptions { MaxDepth = 64 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            foreach (var member in document.RootElement.EnumerateObject())
            {
                // Case-insensitive, as the runner's own reader (AgenticJson's web defaults) is.
                if (string.Equals(member.Name, "runId", StringComparison.OrdinalIgnoreCase))
                {
                    return member.Value.ValueKind == JsonValueKind.String && member.Value.GetString() is { Length: > 0 and <= 256 } id ? id : null;
                }
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Moves a message to a poison queue with the reason.</summary>
internal static class Poison
{
    public static async Task MoveAsync(global::Azure.Storage.Queues.QueueClient poisonQueue, QueueMessage message, string reason, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        var record = new PoisonMessage(poisonQueue.Name.Replace("-poison", "", StringComparison.Ordinal), reason, message.DequeueCount, message.Body.ToString(), clock.GetUtcNow());
        await poisonQueue.SendMessageAsync(JsonSerializer.Serialize(record, AgenticJson.Options), cancellationToken: cancellationToken);
        logger.Poisoned(poisonQueue.Name, reason);
    }

    /// <summary>
    /// A message this host can not read. It is left for another delivery until it has been delivered
    /// <paramref name="maxDequeueCount"/> times (a host of a newer version sharing the hub may read what this one can
    /// not, during a rolling upgrade); then it moves to <paramref name="poisonQueue"/> with the reason, and the run it
    /// names, if it names one, is failed with that reason, since an event or an activity it waits for is lost.
    /// </summary>
    public static async Task<MessageOutcome> UnreadableAsync(
        global::Azure.Storage.Queues.QueueClient poisonQueue,
        QueueMessage message,
        string problem,
        int maxDequeueCount,
        Func<string, string, CancellationToken, Task> failRun,
        TimeProvider clock,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var queue = poisonQueue.Name.Replace("-poison", "", StringComparison.Ordinal);
        if (message.DequeueCount < maxDequeueCount)
        {
            logger.Unreadable(queue, message.MessageId, message.DequeueCount, maxDequeueCount, problem);
            return MessageOutcome.Retry;
        }
        var reason = $"{problem} (message {message.MessageId}, delivered {message.DequeueCount} times; moved to {poisonQueue.Name}).";
        await MoveAsync(poisonQueue, message, reason, clock, logger, cancellationToken);
        if (Wire.RunIdOf(message) is { } runId)
        {
            await failRun(runId, "Unreadable message: " + reason, cancellationToken);
        }
        return MessageOutcome.Complete;
    }
}
