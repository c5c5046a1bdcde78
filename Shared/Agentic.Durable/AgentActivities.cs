using System.Globalization;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Json;
using Agentic.Core.Telemetry;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Agentic.Durable;

/// <summary>
/// The door from the engine to the activities: reads the <see cref="ActivityEnvelope"/>, runs the named
/// <see cref="IActivity"/> under the per-attempt timeout and returns its result. Both hosts call it, the Functions app
/// from its activity triggers and the local host through <see cref="AgentActivity"/>. The engine does not report the
/// attempt number, so it is 0. A <see cref="NonRetryableException"/> propagates: the orchestrator's retry policy
/// recognises it by type and stops retrying. An <see cref="ActivityBusyException"/> (another worker holds the step's
/// ledger lease, as when the engine delivered the same activity twice) is waited out inside the attempt, within its
/// timeout, so a redelivery spends no retry: the step is tried again every second until the holder has recorded its
/// outcome (which is then returned) or its lease has ended.
/// </summary>
public sealed class AgentActivityRunner(ActivityRegistry activities, TimeProvider clock, ILogger<AgentActivityRunner> logger)
{
    // WARNING: activity names are stored in Durable history; they come from Agentic.Core.Agents.AgentActivities,
    // whose constants must not be renamed while runs are in flight.

    // A holder that is alive records its outcome long before its lease ends (the lease covers the call's longest
    // duration), so a duplicate asks again soon rather than at the lease's end.
    private static readonly TimeSpan BusyPoll = TimeSpan.FromSeconds(1);

    /// <summary>Runs one attempt of activity <paramref name="name"/> with the envelope <paramref name="input"/>.</summary>
    public async Task<JsonElement> RunAsync(string name, JsonElement input, CancellationToken cancellationToken)
    {
        if (!activities.TryGet(name, out var activity))
        {
            throw new NonRetryableException($"No activity named '{name}' is registered.");
        }
        var call = ReadEnvelope(name, input);
        // The attempt's span is a child of the run's root, on whichever host and worker the engine delivered it to.
        using var span = RunTrace.StartActivity(name, call.RunId, call.CommandId);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (call.Timeout > TimeSpan.Zero)
        {
            attempt.CancelAfter(call.Timeout);
        }
        try
        {
            var waiting = false;
            while (true)
            {
                try
                {
                    return await activity.RunAsync(call.Input, new ActivityContext(call.RunId, call.CommandId, 0), attempt.Token);
                }
                catch (ActivityBusyException busy)
                {
                    var wait = busy.RetryAfter is { } until ? until - clock.GetUtcNow() : BusyPoll;
                    wait = wait < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : wait > BusyPoll ? BusyPoll : wait;
                    if (!waiting)
                    {
                        logger.ActivityBusy(name, call.CommandId, call.RunId, busy.Message);
                        waiting = true;
                    }
                    await Task.Delay(wait, clock, attempt.Token);
                }
            }
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Timed out: retryable, like any transient failure.
            var seconds = call.Timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
            logger.ActivityTimedOut(name, call.CommandId, call.RunId, seconds);
            RunTrace.Failed(span, new TimeoutException());
            throw new TimeoutException($"{name} ({call.CommandId}) did not finish within {seconds} s.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.ActivityFailed(name, call.RunId, call.CommandId, ex is NonRetryableException ? "not retryable" : "retryable", ex.Message);
            RunTrace.Failed(span, ex);
            throw;
        }
    }

    private static ActivityEnvelope ReadEnvelope(string name, JsonElement input)
    {
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw new NonRetryableException($"{name} received no input.");
        }
        try
        {
            return AgenticJson.FromElement<ActivityEnvelope>(input);
        }
        catch (JsonException ex)
        {
            throw new NonRetryableException($"{name} received input that is not an activity envelope: {ex.Message}", ex);
        }
    }
}

/// <summary>One activity as the Durable Task SDK sees it (<see cref="ITaskActivity"/>), for hosts that register activities by name.</summary>
public sealed class AgentActivity(string name, AgentActivityRunner runner) : ITaskActivity
{
    /// <summary>The activity name.</summary>
    public string Name { get; } = name;

    Type ITaskActivity.InputType => typeof(JsonElement);

    Type ITaskActivity.OutputType => typeof(JsonElement);

    async Task<object?> ITaskActivity.RunAsync(TaskActivityContext context, object? input) =>
        await runner.RunAsync(Name, input is JsonElement element ? element : default, CancellationToken.None);
}
