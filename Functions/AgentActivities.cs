using System.Globalization;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// One activity function per activity the workflow calls, each a door to the same IActivity the local runner
// uses. The envelope carries the run, the command and the per-attempt timeout; Durable does not report the
// attempt number, so it is 0. A NonRetryableException is left to propagate: the orchestrator's retry policy
// recognises it by type and stops retrying.
public sealed class AgentActivityFunctions(ActivityRegistry activities, ILogger<AgentActivityFunctions> logger)
{
    // WARNING: activity function names are stored in Durable history; they come from AgentActivities, whose
    // constants must not be renamed while runs are in flight.

    [Function(AgentActivities.Perceive)]
    public Task<JsonElement> Perceive([ActivityTrigger] JsonElement input, FunctionContext context) =>
        RunAsync(AgentActivities.Perceive, input, context);

    [Function(AgentActivities.Plan)]
    public Task<JsonElement> Plan([ActivityTrigger] JsonElement input, FunctionContext context) =>
        RunAsync(AgentActivities.Plan, input, context);

    [Function(AgentActivities.Gate)]
    public Task<JsonElement> Gate([ActivityTrigger] JsonElement input, FunctionContext context) =>
        RunAsync(AgentActivities.Gate, input, context);

    [Function(AgentActivities.Act)]
    public Task<JsonElement> Act([ActivityTrigger] JsonElement input, FunctionContext context) =>
        RunAsync(AgentActivities.Act, input, context);

    private async Task<JsonElement> RunAsync(string name, JsonElement input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!activities.TryGet(name, out var activity))
        {
            throw new NonRetryableException($"No activity named '{name}' is registered.");
        }
        var call = ReadEnvelope(name, input);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (call.Timeout > TimeSpan.Zero)
        {
            attempt.CancelAfter(call.Timeout);
        }
        try
        {
            return await activity.RunAsync(call.Input, new ActivityContext(call.RunId, call.CommandId, 0), attempt.Token);
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // Timed out: retryable, like any transient failure.
            var seconds = call.Timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
            logger.ActivityTimedOut(name, call.CommandId, call.RunId, seconds);
            throw new TimeoutException($"{name} ({call.CommandId}) did not finish within {seconds} s.");
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
