using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Agentic.Runtime.Http;
using Agentic.Runtime.Http.Identity;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// The HTTP API, with the local host's contract (Agentic.Runtime.Http.RunsApi): submit, read, approve and
// terminate runs, list agents and tools, health, errors as application/problem+json; and the agent-runs queue.
//
// POST /api/runs answers with the local host's 202 body and a Location of GET /api/runs/{id}, not with
// Durable's CreateCheckStatusResponseAsync: that body carries the task hub's system key in every URI, and
// with it a caller could raise approval events past the checks below.
//
// Identity: every trigger runs inside SharedHttp.RunAsync, which authenticates the caller the way the local host
// does (RequestGuard): bearer tokens, and App Service authentication's principal only while that is on. The function
// key the platform checks says nothing about who calls. Roles and run ownership are checked as on the local host.
public sealed class RunTriggers(AgentCatalog agents, ToolRegistry tools, IDecisionStore decisions, TimeProvider clock, ILogger<RunTriggers> logger, RunAdmission admission)
{
    public const string RunQueue = "agent-runs";
    public const string QueuePrincipal = "queue:" + RunQueue;

    [Function(nameof(Health))]
    public static Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "health")] HttpRequest req) =>
        SharedHttp.RunAsync(req, r => Task.FromResult(RunsApi.Health(r.HttpContext)));

    [Function(nameof(SubmitRun))]
    public Task<IActionResult> SubmitRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, async r =>
        {
            if (HttpCaller.Refusal(r, "submitting runs", AgenticRoles.Requester) is { } refused)
            {
                return refused;
            }
            RunRequest request;
            try
            {
                var body = await HttpCaller.ReadBodyAsync(r, RunRequestParser.MaxBodyBytes, cancellationToken) ?? throw HttpCaller.TooLarge(RunRequestParser.MaxBodyBytes);
                request = RunRequestParser.Parse(body, HttpCaller.Principal(r), admission, HttpCaller.Roles(r));
            }
            catch (InputException ex)
            {
                return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
            }
            var (runId, created) = await StartAsync(client, request, cancellationToken);
            logger.RunRequested(runId, "http", created);
            var runUri = RunUri(r, runId);
            r.HttpContext.Response.Headers.RetryAfter = "1";
            return TypedResults.Accepted(runUri, new RunCreatedView(runId, runUri, runUri + "/terminate", runUri + "/approvals/{stepId}", created));
        });

    [Function(nameof(GetRun))]
    public static Task<IActionResult> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, async r =>
        {
            ArgumentNullException.ThrowIfNull(client);
            if (HttpCaller.Refusal(r, "reading runs", [.. AgenticRoles.All]) is { } refused)
            {
                return refused;
            }
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellation: cancellationToken);
            var view = instance is null ? null : Document(instance);
            if (instance is null || !Caller.Of(r.HttpContext).MayAccessRunOf(view?["principal"]?.GetValue<string>() ?? ""))
            {
                return NotFound(id);
            }
            if (view!["pendingApproval"] is JsonObject pending && pending["stepId"]?.GetValue<string>() is { } stepId)
            {
                pending["approvePostUri"] = RunUri(r, id) + "/approvals/" + Uri.EscapeDataString(stepId);
            }
            if (!instance.IsCompleted)
            {
                r.HttpContext.Response.Headers.RetryAfter = "1";
            }
            return TypedResults.Json(view, AgenticJson.Options, statusCode: instance.IsCompleted ? StatusCodes.Status200OK : StatusCodes.Status202Accepted);
        });

    // Records the approval before raising the event, so the act activity always finds the approval it runs
    // under. The checks give callers clear answers; the workflow checks again when the event arrives.
    [Function(nameof(DecideApproval))]
    public Task<IActionResult> DecideApproval(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/approvals/{stepId}")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        string stepId,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, async r =>
        {
            ArgumentNullException.ThrowIfNull(client);
            // Approver roles are whatever the policy names, so the role is checked against the decision, below.
            if (!Caller.Of(r.HttpContext).IsAuthenticated)
            {
                return HttpCaller.Refusal(r, "approving", [])!;
            }
            ApprovalRequest decision;
            try
            {
                decision = ApprovalRequest.Parse(await HttpCaller.ReadBodyAsync(r, RunRequestParser.MaxBodyBytes, cancellationToken) ?? throw HttpCaller.TooLarge(RunRequestParser.MaxBodyBytes));
            }
            catch (InputException ex)
            {
                return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
            }
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellation: cancellationToken);
            if (instance is null)
            {
                return NotFound(id);
            }
            var run = instance.SerializedCustomStatus is { } status ? JsonSerializer.Deserialize<AwaitedApproval>(status, AgenticJson.Options) : null;
            var pending = run?.PendingApproval;
            if (ApprovalRules.NotAwaiting(id, stepId, run is not null && !instance.IsCompleted, pending, run?.Phase ?? "unknown") is { } notAwaiting)
            {
                return TypedResults.Problem(notAwaiting, title: "Not awaiting this approval", statusCode: StatusCodes.Status409Conflict);
            }
            var approver = HttpCaller.Principal(r);
            var roles = HttpCaller.Roles(r);
            if (ApprovalRules.Refusal(pending!, run!.Principal, approver, roles) is { } refusal)
            {
                return TypedResults.Problem(refusal, title: "Approval not allowed", statusCode: StatusCodes.Status403Forbidden);
            }
            // The same answer again is a retry: deliver the recorded one again. Another answer by the same approver is refused.
            var earlier = ApprovalRules.EarlierAnswer(await decisions.GetApprovalsAsync(id, stepId, cancellationToken), approver, pending!.ArgsDigest);
            if (earlier is not null && ApprovalRules.ChangedAnswer(earlier, decision.Decision) is { } changed)
            {
                return TypedResults.Problem(changed, title: "Approval not allowed", statusCode: StatusCodes.Status403Forbidden);
            }
            var approval = earlier ?? new ApprovalDecision(decision.Decision, approver, roles, pending.ArgsDigest, decision.Comment, clock.GetUtcNow()) { ToolHash = pending.ToolHash };
            if (earlier is null)
            {
                // Insert-only: a concurrent request by the same approver may have stored an answer first, and that one stands.
                approval = await decisions.RecordApprovalAsync(id, stepId, approval, cancellationToken);
                if (ApprovalRules.ChangedAnswer(approval, decision.Decision, pending.ArgsDigest) is { } raced)
                {
                    return TypedResults.Problem(raced, title: "Approval not allowed", statusCode: StatusCodes.Status403Forbidden);
                }
            }
            await client.RaiseEventAsync(id, AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(approval), cancellationToken);
            logger.ApprovalRecorded(id, stepId, approval.Decision, approver);
            var detail = approval.Approved ? "Approval recorded." : "Rejection recorded.";
            return TypedResults.Json(new ApprovalAccepted(id, stepId, approval.Decision, approver, approval.ArgsDigest, detail), AgenticJson.Options, statusCode: StatusCodes.Status202Accepted);
        });

    // Asks the run to stop through the workflow, so the run records who stopped it and why. Durable's own
    // terminate (management API) stays available as the hard stop.
    [Function(nameof(TerminateRun))]
    public Task<IActionResult> TerminateRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/terminate")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, async r =>
        {
            ArgumentNullException.ThrowIfNull(client);
            if (HttpCaller.Refusal(r, "terminating runs", [.. AgenticRoles.All]) is { } refused)
            {
                return refused;
            }
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellation: cancellationToken);
            if (instance is null || !Caller.Of(r.HttpContext).MayAccessRunOf(Document(instance)["principal"]?.GetValue<string>() ?? ""))
            {
                return NotFound(id);
            }
            var reason = r.Query["reason"].FirstOrDefault() is { Length: > 0 and <= 500 } given ? given : "Terminated through the API.";
            var by = HttpCaller.Principal(r);
            await client.RaiseEventAsync(id, AgentRunOrchestrator.TerminateEvent, AgenticJson.ToElement(new TerminateRequest(reason, by)), cancellationToken);
            logger.TerminationRequested(id, by);
            return TypedResults.Accepted(RunUri(r, id));
        });

    [Function(nameof(ListAgents))]
    public Task<IActionResult> ListAgents(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents")] HttpRequest req) =>
        SharedHttp.RunAsync(req, r => Task.FromResult(RunsApi.ListAgents(r, agents)));

    [Function(nameof(ListTools))]
    public Task<IActionResult> ListTools(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "tools")] HttpRequest req) =>
        SharedHttp.RunAsync(req, r => Task.FromResult(RunsApi.ListTools(r, tools)));

    // A message that is not a valid request throws every time: after maxDequeueCount deliveries (host.json)
    // the Functions host moves it to agent-runs-poison.
    [Function(nameof(RunRequestQueue))]
    public async Task RunRequestQueue(
        [QueueTrigger(RunQueue, Connection = "AgenticStorage")] QueueMessage message,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        RunRequest request;
        try
        {
            request = RunRequestParser.Parse(message.Body.ToMemory().Span, QueuePrincipal, admission);
        }
        catch (InputException ex)
        {
            logger.RunRequestRejected(message.MessageId, message.DequeueCount, ex.Message);
            throw;
        }
        // A redelivered message must not start a second run: without a key of its own, the message id is the key.
        request = request with { IdempotencyKey = request.IdempotencyKey ?? "msg:" + message.MessageId };
        var (runId, created) = await StartAsync(client, request, cancellationToken);
        logger.RunRequested(runId, "queue", created);
    }

    // The same run id the local host derives, so a repeated submission finds the first run.
    private static async Task<(string RunId, bool Created)> StartAsync(DurableTaskClient client, RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var runId = RunIds.For(request);
        if (await client.GetInstanceAsync(runId, getInputsAndOutputs: false, cancellation: cancellationToken) is not null)
        {
            return (runId, false);
        }
        var input = AgenticJson.ToElement(new AgentRunInput(request));
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(AgentRunOrchestrator), input, new StartOrchestrationOptions { InstanceId = runId }, cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Two submissions with the same key raced and the task hub refused the second start: the first run is the answer.
            if (await client.GetInstanceAsync(runId, getInputsAndOutputs: false, cancellation: cancellationToken) is not null)
            {
                return (runId, false);
            }
            throw;
        }
        return (runId, true);
    }

    // The run's document: the orchestration's output once it has returned, else its custom status. Durable's own
    // Failed and Terminated (a fault in the orchestrator, a hard terminate) are written over the last summary.
    private static JsonObject Document(OrchestrationMetadata instance)
    {
        var json = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed && instance.SerializedOutput is { } output
            ? output
            : instance.SerializedCustomStatus;
        var view = (json is null ? null : JsonNode.Parse(json) as JsonObject) ?? new JsonObject { ["id"] = instance.InstanceId, ["status"] = "running" };
        if (instance.RuntimeStatus == OrchestrationRuntimeStatus.Failed)
        {
            view["status"] = "failed";
            view["failureReason"] = instance.FailureDetails?.ErrorMessage ?? "The orchestration failed.";
            view.Remove("pendingApproval");
        }
        else if (instance.RuntimeStatus == OrchestrationRuntimeStatus.Terminated)
        {
            view["status"] = "terminated";
            view["failureReason"] = "Terminated through the Durable Functions management API.";
            view.Remove("pendingApproval");
        }
        return view;
    }

    private static string RunUri(HttpRequest req, string id) =>
        $"{req.Scheme}://{req.Host}{req.PathBase}/api/runs/{Uri.EscapeDataString(id)}";

    // Another principal's run answers as an unknown one, as on the local host.
    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"No run with id '{id}'.", title: "Run not found", statusCode: StatusCodes.Status404NotFound);

    private sealed record ApprovalAccepted(string RunId, string StepId, string Decision, string Approver, string ArgsDigest, string Detail);

    // What the approval trigger needs from the custom status (a RunView): who asked, and what is awaited.
    private sealed record AwaitedApproval(string Principal, string? Phase = null, PendingApprovalView? PendingApproval = null);
}
