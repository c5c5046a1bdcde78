using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Monitors;
using Agentic.Durable;
using Agentic.Runtime.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

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

// Monitors: one timer on the schedule the app settings give (Agentic__Monitors__Schedule, a six-field NCRONTAB) ticks every
// monitor that is due, through the scheduler the local host's timer calls; the timer's schedule lock makes it a singleton
// across the app's instances. IsPastDue (the timer fired late) marks the ticks it takes past due; the scheduler also
// finds a monitor past due from its own last tick, so a missed schedule runs once after downtime whatever the timer says.
// GET /api/monitors is the local host's handler.
public sealed class MonitorFunctions(MonitorScheduler monitors, IDecisionStore decisions, AuditLog audit, TimeProvider clock, ILoggerFactory loggers)
{
    /// <summary>The app setting the timer's schedule is bound to.</summary>
    public const string ScheduleSetting = "%" + MonitorOptions.Section + ":Schedule%";

    [Function(nameof(MonitorTick))]
    public Task MonitorTick([TimerTrigger(ScheduleSetting)] TimerInfo timer, [DurableClient] DurableTaskClient client, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(timer);
        var runs = new MonitorRuns(new AgentRunClient(client, decisions, audit, clock, loggers.CreateLogger<AgentRunClient>()));
        return monitors.TickDueAsync(runs, timer.IsPastDue, context?.CancellationToken ?? default);
    }

    [Function(nameof(ListMonitors))]
    public Task<IActionResult> ListMonitors(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "monitors")] HttpRequest req, CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => MonitorsApi.ListAsync(r, monitors, clock, cancellationToken));
}
