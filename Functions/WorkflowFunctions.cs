using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Durable;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Agentic.Functions;

// The orchestration and activity triggers: one line each, over the orchestrator and the activity runner the local host
// runs through the Durable Task SDK's shim. Function names are stored in Durable history (see AgentRunOrchestrator.Name
// and AgentActivities); they must not change while runs are in flight.
public sealed class WorkflowFunctions(AgentRunOrchestrator orchestrator, AgentActivityRunner activities)
{
    [Function(AgentRunOrchestrator.Name)]
    public Task<JsonElement?> Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context) => orchestrator.RunAsync(context);

    [Function(AgentActivities.Perceive)]
    public Task<JsonElement> Perceive([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Perceive, input, context?.CancellationToken ?? default);

    [Function(AgentActivities.Plan)]
    public Task<JsonElement> Plan([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Plan, input, context?.CancellationToken ?? default);

    [Function(AgentActivities.Gate)]
    public Task<JsonElement> Gate([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Gate, input, context?.CancellationToken ?? default);

    [Function(AgentActivities.Act)]
    public Task<JsonElement> Act([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Act, input, context?.CancellationToken ?? default);

    [Function(AgentActivities.Conclude)]
    public Task<JsonElement> Conclude([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Conclude, input, context?.CancellationToken ?? default);

    [Function(AgentActivities.Notify)]
    public Task<JsonElement> Notify([ActivityTrigger] JsonElement input, FunctionContext context) =>
        activities.RunAsync(AgentActivities.Notify, input, context?.CancellationToken ?? default);
}

// Run-state retention: the shared sweep over the bound client, hourly. The timer trigger is a singleton across the
// app's instances (its schedule lock), so one instance sweeps at a time.
public sealed class RetentionFunctions(RunRetention retention)
{
    // A backlog drains over a few sweeps per tick; the rest waits for the next tick rather than the function's timeout.
    private const int MaxSweepsPerTick = 10;

    [Function(nameof(RetentionSweep))]
    public async Task RetentionSweep([TimerTrigger("0 17 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, FunctionContext context)
    {
        var cancellationToken = context?.CancellationToken ?? default;
        for (var sweep = 0; sweep < MaxSweepsPerTick && (await retention.SweepAsync(client, cancellationToken)).More; sweep++)
        {
        }
    }
}
