using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Durable;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

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
}
