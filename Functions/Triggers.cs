using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Durable;
using Agentic.Runtime.Http;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Agentic.Functions;

// The HTTP API and the agent-runs queue: each trigger is a door to the handler the local host maps (RunsApi) and to the
// run client both hosts use (AgentRunClient), here over the [DurableClient] binding. No run logic lives here.
//
// POST /api/runs answers with the local host's 202 body and a Location of GET /api/runs/{id}, not with Durable's
// CreateCheckStatusResponseAsync: that body carries the task hub's system key in every URI, and with it a caller could
// raise approval events past the checks of the run client.
//
// Identity: every trigger runs inside SharedHttp.RunAsync, which authenticates the caller the way the local host does
// (RequestGuard): bearer tokens, and App Service authentication's principal only while that is on. The function key the
// platform checks says nothing about who calls.
public sealed class RunTriggers(ToolRegistry tools, IDecisionStore decisions, AuditLog audit, TimeProvider clock, ILoggerFactory loggers, RunAdmissions admissions,
    AgenticHealth health, AgenticApiDocument document)
{
    public const string RunQueue = Agentic.Runtime.RunRequestListener.QueueName;
    public const string QueuePrincipal = Agentic.Runtime.RunRequestListener.Principal;

    [Function(nameof(Health))]
    public Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "health")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => HealthApi.CheckAsync(r.HttpContext, health, client, cancellationToken));

    // The document of the shared endpoints, generated in an application built for it (AgenticApiDocument.Detached): the
    // triggers here are not ASP.NET Core endpoints, and the route parity test holds them to the same routes.
    [Function(nameof(OpenApiDocument))]
    public Task<IActionResult> OpenApiDocument(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "openapi.json")] HttpRequest req,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => OpenApiDocumentApi.GetAsync(r, document, cancellationToken));

    [Function(nameof(ListRuns))]
    public Task<IActionResult> ListRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => RunsApi.ListAsync(r, Runs(client), cancellationToken));

    [Function(nameof(ListApprovals))]
    public Task<IActionResult> ListApprovals(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "approvals")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => RunsApi.ListApprovalsAsync(r, Runs(client), cancellationToken));

    [Function(nameof(SubmitRun))]
    public Task<IActionResult> SubmitRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, async r => await RunsApi.SubmitAsync(r, Runs(client), admissions, cancellationToken));

    [Function(nameof(GetRun))]
    public Task<IActionResult> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => RunsApi.GetAsync(id, r, Runs(client), cancellationToken));

    [Function(nameof(DecideApproval))]
    public Task<IActionResult> DecideApproval(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/approvals/{stepId}")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        string stepId,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => RunsApi.DecideAsync(id, stepId, r, Runs(client), cancellationToken));

    [Function(nameof(TerminateRun))]
    public Task<IActionResult> TerminateRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/terminate")] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken) =>
        SharedHttp.RunAsync(req, r => RunsApi.TerminateAsync(id, r, Runs(client), cancellationToken));

    [Function(nameof(ListTools))]
    public Task<IActionResult> ListTools(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "tools")] HttpRequest req) =>
        SharedHttp.RunAsync(req, r => Task.FromResult(RunsApi.ListTools(r, tools)));

    // A message that is not a valid request throws every time: after maxDequeueCount deliveries (host.json) the
    // Functions host moves it to agent-runs-poison.
    [Function(nameof(RunRequestQueue))]
    public async Task RunRequestQueue(
        [QueueTrigger(RunQueue, Connection = "AgenticStorage")] QueueMessage message,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Against the agents offered now; a catalog that can not be read throws, and the message is delivered again.
        var admission = await admissions.CurrentAsync(cancellationToken);
        RunRequest request;
        try
        {
            request = RunRequestParser.Parse(message.Body.ToMemory().Span, QueuePrincipal, admission);
        }
        catch (InputException ex)
        {
            loggers.CreateLogger<RunTriggers>().RunRequestRejected(message.MessageId, message.DequeueCount, ex.Message);
            throw;
        }
        // A redelivered message must not start a second run: without a key of its own, the message id is the key.
        await Runs(client).SubmitAsync(request with { IdempotencyKey = request.IdempotencyKey ?? "msg:" + message.MessageId }, Agentic.Core.Audit.RunTrigger.Queue, cancellationToken);
    }

    private AgentRunClient Runs(DurableTaskClient client) => new(client, decisions, audit, clock, loggers.CreateLogger<AgentRunClient>());
}
