using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;
using Agentic.Runtime.Http;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// The HTTP API, with the local host's contract (Agentic.Runtime.Http.RunsApi): submit, read, approve and
// terminate runs, list agents and tools, errors as application/problem+json; and the agent-runs queue.
//
// POST /api/runs answers with the local host's 202 body and a Location of GET /api/runs/{id}, not with
// Durable's CreateCheckStatusResponseAsync: that body carries the task hub's system key in every URI, and
// with it a caller could raise approval events past the checks below.
//
// Identity: App Service authentication sets X-MS-CLIENT-PRINCIPAL-NAME and drops any copy a client sends,
// so the principal is trustworthy only with it switched on. Roles come from X-Agentic-Roles (comma-separated)
// until the claims in X-MS-CLIENT-PRINCIPAL are read. App Service authentication does NOT drop that header:
// it must be set by a trusted front (API Management, Front Door) that removes a client's copy, or any caller
// can claim any role. The workflow itself still refuses self-approval and approvals for other arguments.
public sealed class RunTriggers(AgentCatalog agents, ToolRegistry tools, IDecisionStore decisions, TimeProvider clock, ILogger<RunTriggers> logger, RunAdmission admission)
{
    public const string RunQueue = "agent-runs";
    public const string QueuePrincipal = "queue:" + RunQueue;


    [Function(nameof(SubmitRun))]
    public async Task<HttpResponseData> SubmitRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequestData req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        RunRequest request;
        try
        {
            var body = await ReadBodyAsync(req.Body, cancellationToken) ?? throw TooLarge();
            request = RunRequestParser.Parse(body, Principal(req), admission, Roles(req));
        }
        catch (InputException ex)
        {
            return await ProblemAsync(req, HttpStatusCode.BadRequest, ex.Title, ex.Message, ex.Errors, cancellationToken);
        }
        var (runId, created) = await StartAsync(client, request, cancellationToken);
        logger.RunRequested(runId, "http", created);
        var runUri = RunUri(req, runId);
        var response = req.CreateResponse(HttpStatusCode.Accepted);
        response.Headers.Add("Location", runUri);
        response.Headers.Add("Retry-After", "1");
        await WriteJsonAsync(response, new RunCreatedView(runId, runUri, runUri + "/terminate", runUri + "/approvals/{stepId}", created), cancellationToken);
        return response;
    }

    [Function(nameof(GetRun))]
    public static async Task<HttpResponseData> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequestData req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellation: cancellationToken);
        if (instance is null)
        {
            return await NotFoundAsync(req, id, cancellationToken);
        }
        var view = Document(instance);
        if (view["pendingApproval"] is JsonObject pending && pending["stepId"]?.GetValue<string>() is { } stepId)
        {
            pending["approvePostUri"] = RunUri(req, id) + "/approvals/" + Uri.EscapeDataString(stepId);
        }
        var response = req.CreateResponse(instance.IsCompleted ? HttpStatusCode.OK : HttpStatusCode.Accepted);
        if (!instance.IsCompleted)
        {
            response.Headers.Add("Retry-After", "1");
        }
        await WriteJsonAsync(response, view, cancellationToken);
        return response;
    }

    // Records the approval before raising the event, so the act activity always finds the approval it runs
    // under. The checks give callers clear answers; the workflow checks again when the event arrives.
    [Function(nameof(DecideApproval))]
    public async Task<HttpResponseData> DecideApproval(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/approvals/{stepId}")] HttpRequestData req,
        [DurableClient] DurableTaskClient client,
        string id,
        string stepId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        ArgumentNullException.ThrowIfNull(client);
        ApprovalRequest decision;
        try
        {
            decision = ApprovalRequest.Parse(await ReadBodyAsync(req.Body, cancellationToken) ?? throw TooLarge());
        }
        catch (InputException ex)
        {
            return await ProblemAsync(req, HttpStatusCode.BadRequest, ex.Title, ex.Message, ex.Errors, cancellationToken);
        }
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellation: cancellationToken);
        if (instance is null)
        {
            return await NotFoundAsync(req, id, cancellationToken);
        }
        var run = instance.SerializedCustomStatus is { } status ? JsonSerializer.Deserialize<AwaitedApproval>(status, AgenticJson.Options) : null;
        var pending = run?.PendingApproval;
        if (ApprovalRules.NotAwaiting(id, stepId, run is not null && !instance.IsCompleted, pending, run?.Phase ?? "unknown") is { } notAwaiting)
        {
            return await ProblemAsync(req, HttpStatusCode.Conflict, "Not awaiting this approval", notAwaiting, null, cancellationToken);
        }
        var approver = Principal(req);
        var roles = Roles(req);
        if (ApprovalRules.Refusal(pending!, run!.Principal, approver, roles) is { } refusal)
        {
            return await ProblemAsync(req, HttpStatusCode.Forbidden, "Approval not allowed", refusal, null, cancellationToken);
        }
        // The same answer again is a retry: deliver the recorded one again. Another answer by the same approver is refused.
        var earlier = ApprovalRules.EarlierAnswer(await decisions.GetApprovalsAsync(id, stepId, cancellationToken), approver, pending!.ArgsDigest);
        if (earlier is not null && ApprovalRules.ChangedAnswer(earlier, decision.Decision) is { } changed)
        {
            return await ProblemAsync(req, HttpStatusCode.Forbidden, "Approval not allowed", changed, null, cancellationToken);
        }
        var approval = earlier ?? new ApprovalDecision(decision.Decision, approver, roles, pending.ArgsDigest, decision.Comment, clock.GetUtcNow()) { ToolHash = pending.ToolHash };
        if (earlier is null)
        {
            await decisions.RecordApprovalAsync(id, stepId, approval, cancellationToken);
        }
        await client.RaiseEventAsync(id, AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(approval), cancellationToken);
        logger.ApprovalRecorded(id, stepId, approval.Decision, approver);
        var response = req.CreateResponse(HttpStatusCode.Accepted);
        var detail = approval.Approved ? "Approval recorded." : "Rejection recorded.";
        await WriteJsonAsync(response, new ApprovalAccepted(id, stepId, approval.Decision, approver, approval.ArgsDigest, detail), cancellationToken);
        return response;
    }

    // Asks the run to stop through the workflow, so the run records who stopped it and why. Durable's own
    // terminate (management API) stays available as the hard stop.
    [Function(nameof(TerminateRun))]
    public async Task<HttpResponseData> TerminateRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/terminate")] HttpRequestData req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        ArgumentNullException.ThrowIfNull(client);
        if (await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellation: cancellationToken) is null)
        {
            return await NotFoundAsync(req, id, cancellationToken);
        }
        var reason = req.Query["reason"] is { Length: > 0 and <= 500 } r ? r : "Terminated through the API.";
        var by = Principal(req);
        await client.RaiseEventAsync(id, AgentRunOrchestrator.TerminateEvent, AgenticJson.ToElement(new TerminateRequest(reason, by)), cancellationToken);
        logger.TerminationRequested(id, by);
        var response = req.CreateResponse(HttpStatusCode.Accepted);
        response.Headers.Add("Location", RunUri(req, id));
        return response;
    }

    [Function(nameof(ListAgents))]
    public async Task<HttpResponseData> ListAgents(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "agents")] HttpRequestData req,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        var response = req.CreateResponse(HttpStatusCode.OK);
        await WriteJsonAsync(response, agents.Names.Select(n => new { name = n, description = agents.Get(n).Description }), cancellationToken);
        return response;
    }

    [Function(nameof(ListTools))]
    public async Task<HttpResponseData> ListTools(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "tools")] HttpRequestData req,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(req);
        var response = req.CreateResponse(HttpStatusCode.OK);
        var descriptors = tools.Descriptors.Select(d => new { d.Name, d.Version, d.Description, risk = d.Risk, sideEffect = d.SideEffect, d.Idempotent, timeoutSeconds = d.Timeout.TotalSeconds, d.MaxOutputBytes, d.Hash, inputSchema = d.InputSchemaJson, outputSchema = d.OutputSchemaJson });
        await WriteJsonAsync(response, descriptors, cancellationToken);
        return response;
    }

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
        var runId = request.IdempotencyKey is { } key
            ? "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{request.Principal}\n{request.Agent}\n{key}")))[..32]
            : "run-" + Guid.NewGuid().ToString("N");
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

    private static string RunUri(HttpRequestData req, string id) =>
        req.Url.GetLeftPart(UriPartial.Authority) + "/api/runs/" + Uri.EscapeDataString(id);

    private static string Principal(HttpRequestData req) =>
        req.Headers.TryGetValues(AppServicePrincipal.NameHeader, out var values) && values.FirstOrDefault()?.Trim() is { Length: > 0 and <= 256 } name
            ? name
            : ApprovalRules.Anonymous;

    // Roles come from App Service authentication's principal document, which the platform sets and clients can not.
    private static string[] Roles(HttpRequestData req) =>
        req.Headers.TryGetValues(AppServicePrincipal.Header, out var values) ? [.. AppServicePrincipal.Roles(values.FirstOrDefault())] : [];

    // Reads at most the body limit; null if the body is larger.
    private static async Task<byte[]?> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > RunRequestParser.MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static InputException TooLarge() =>
        new("Request body too large", [new("$", $"At most {RunRequestParser.MaxBodyBytes} bytes are accepted.")]);

    private static async Task WriteJsonAsync<T>(HttpResponseData response, T value, CancellationToken cancellationToken)
    {
        response.Headers.Add("Content-Type", "application/json; charset=utf-8");
        await JsonSerializer.SerializeAsync(response.Body, value, AgenticJson.Options, cancellationToken);
    }

    private static Task<HttpResponseData> NotFoundAsync(HttpRequestData req, string id, CancellationToken cancellationToken) =>
        ProblemAsync(req, HttpStatusCode.NotFound, "Run not found", $"No run with id '{id}'.", null, cancellationToken);

    private static async Task<HttpResponseData> ProblemAsync(
        HttpRequestData req, HttpStatusCode status, string title, string detail, IReadOnlyList<InputError>? errors, CancellationToken cancellationToken)
    {
        var response = req.CreateResponse(status);
        response.Headers.Add("Content-Type", "application/problem+json; charset=utf-8");
        var section = status switch
        {
            HttpStatusCode.Forbidden => "15.5.4",
            HttpStatusCode.NotFound => "15.5.5",
            HttpStatusCode.Conflict => "15.5.10",
            _ => "15.5.1",
        };
        var problem = new Problem("https://tools.ietf.org/html/rfc9110#section-" + section, title, (int)status, detail, errors);
        await JsonSerializer.SerializeAsync(response.Body, problem, AgenticJson.Options, cancellationToken);
        return response;
    }

    private sealed record Problem(string Type, string Title, int Status, string Detail, IReadOnlyList<InputError>? Errors);

    private sealed record ApprovalAccepted(string RunId, string StepId, string Decision, string Approver, string ArgsDigest, string Detail);

    // What the approval trigger needs from the custom status (a RunView): who asked, and what is awaited.
    private sealed record AwaitedApproval(string Principal, string? Phase = null, PendingApprovalView? PendingApproval = null);
}
