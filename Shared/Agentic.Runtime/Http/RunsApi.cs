using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Durable;
using Agentic.Runtime.Engine;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Http;

/// <summary>
/// The HTTP API of the local host, the same contract as the Functions app: submit, read, approve and
/// terminate runs; list tools (agents: <see cref="AgentsApi"/>); health. Errors are <c>application/problem+json</c>. Callers are who
/// <see cref="Identity.RequestGuard"/> verified; what they may do is their roles': <c>requester</c> submits runs and
/// reads and terminates its own, <c>operator</c> and <c>admin</c> read and terminate every run, approvals need the role
/// the decision names.
/// </summary>
public static class RunsApi
{
    /// <summary>Maps <c>/api/runs</c>, <c>/api/tools</c>, and the agents, audit, controls, policies and MCP routes.</summary>
    public static IEndpointRouteBuilder MapAgenticApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(AgenticAuthentication.HealthPath, Health);
        var runs = app.MapGroup("/api/runs");
        runs.MapPost("/", SubmitAsync);
        runs.MapGet("/{id}", GetAsync);
        runs.MapPost("/{id}/approvals/{stepId}", DecideAsync);
        runs.MapPost("/{id}/terminate", TerminateAsync);
        app.MapAgenticAgents();
        app.MapGet("/api/tools", ListTools);
        app.MapAgenticAudit();
        app.MapAgenticControls();
        app.MapAgenticPolicies();
        app.MapAgenticMcp();
        return app;
    }

    /// <summary>
    /// <c>GET /api/health</c>: the only route open to anonymous callers, so it says nothing but whether the host is
    /// ready: 503 <c>starting</c> until the local runner is ready to take work (storage reached, the engine and the queue listener started), 200 <c>ok</c> after.
    /// </summary>
    public static IResult Health(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var engine = context.RequestServices.GetService<EngineService>();
        return engine is null || engine.Ready.IsCompletedSuccessfully
            ? TypedResults.Ok(new { status = "ok" })
            : TypedResults.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary><c>GET /api/tools</c>: the tool catalog with contracts, limits and secret names (never values).</summary>
    public static IResult ListTools(HttpRequest request, ToolRegistry tools) =>
        (IResult?)HttpCaller.Refusal(request, "reading the tool catalog", [.. AgenticRoles.All])
        ?? TypedResults.Ok(tools.Descriptors.Select(d => new { d.Name, d.Version, d.Description, risk = d.Risk, sideEffect = d.SideEffect, d.Idempotent, timeoutSeconds = d.Timeout.TotalSeconds, d.MaxOutputBytes, d.Hash, inputSchema = d.InputSchemaJson, outputSchema = d.OutputSchemaJson,
            // Limits, costs and labels; secrets by name only, never a value.
            rateLimit = d.RateLimit is { } rate ? new { permits = rate.Permits, perSeconds = rate.Per.TotalSeconds } : null,
            d.MaxConcurrency, secrets = d.Secrets ?? [], d.CompensatingTool, cost = d.CallCost, tags = d.Tags ?? [] }));

    /// <summary><c>POST /api/runs</c>: a <c>requester</c> submits a run; 202 with the run's URIs (the same run again for a repeated idempotency key).</summary>
    public static async Task<Results<Accepted<RunCreatedView>, ProblemHttpResult>> SubmitAsync(HttpRequest request, AgentRunClient runs, RunAdmissions admissions, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "submitting runs", AgenticRoles.Requester) is { } refused)
        {
            return refused;
        }
        var body = await HttpCaller.ReadBodyAsync(request, RunRequestParser.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return HttpCaller.Problem("Request body too large", $"The body exceeds {RunRequestParser.MaxBodyBytes} bytes.", [new("$", $"At most {RunRequestParser.MaxBodyBytes} bytes are accepted.")]);
        }
        RunAdmission admission;
        try
        {
            // Against the agents offered now: an agent deactivated a moment ago is refused, one activated is admitted.
            admission = await admissions.CurrentAsync(cancellationToken);
        }
        catch (AgentCatalogUnavailableException)
        {
            return AgentsApi.Unavailable();
        }
        RunRequest parsed;
        try
        {
            parsed = RunRequestParser.Parse(body, HttpCaller.Principal(request), admission, HttpCaller.Roles(request));
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var (runId, created) = await runs.SubmitAsync(parsed, cancellationToken);
        var view = Created(request, runId, created);
        request.HttpContext.Response.Headers.RetryAfter = "1";
        return TypedResults.Accepted(view.StatusQueryGetUri, view);
    }

    /// <summary><c>GET /api/runs/{id}</c>: the run's document (202 while it runs), to its requester, operators and admins.</summary>
    public static async Task<IResult> GetAsync(string id, HttpRequest request, AgentRunClient runs, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "reading runs", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        var run = await runs.GetAsync(id, cancellationToken);
        if (run is null || !Caller.Of(request.HttpContext).MayAccessRunOf(run.View.Principal))
        {
            return NotFound(id);
        }
        var view = run.View.PendingApproval is { } pending
            ? run.View with { PendingApproval = pending with { ApprovePostUri = Base(request) + $"/api/runs/{Uri.EscapeDataString(id)}/approvals/{Uri.EscapeDataString(pending.StepId)}" } }
            : run.View;
        if (run.IsRunning)
        {
            request.HttpContext.Response.Headers.RetryAfter = "1";
            return TypedResults.Json(view, AgenticJson.Options, statusCode: StatusCodes.Status202Accepted);
        }
        return TypedResults.Json(view, AgenticJson.Options);
    }

    /// <summary><c>POST /api/runs/{id}/approvals/{stepId}</c>: a human's answer, recorded and delivered by the run client.</summary>
    public static async Task<IResult> DecideAsync(string id, string stepId, HttpRequest request, AgentRunClient runs, CancellationToken cancellationToken)
    {
        // Approver roles are whatever the policy names, so the role is checked against the decision (ApprovalRules), not here.
        if (!Caller.Of(request.HttpContext).IsAuthenticated)
        {
            return HttpCaller.Refusal(request, "approving", [])!;
        }
        var body = await HttpCaller.ReadBodyAsync(request, RunRequestParser.MaxBodyBytes, cancellationToken);
        ApprovalRequest decision;
        try
        {
            decision = body is null
                ? throw HttpCaller.TooLarge(RunRequestParser.MaxBodyBytes)
                : ApprovalRequest.Parse(body);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var result = await runs.DecideAsync(id, stepId, decision.Approve, decision.Comment, HttpCaller.Principal(request), HttpCaller.Roles(request), cancellationToken);
        return result.Refusal switch
        {
            ApprovalRefusal.None => TypedResults.Json(new { runId = id, stepId, decision = result.Approval!.Decision, result.Approval.Approver, result.Approval.ArgsDigest, detail = result.Detail }, AgenticJson.Options, statusCode: StatusCodes.Status202Accepted),
            ApprovalRefusal.UnknownRun => NotFound(id),
            ApprovalRefusal.NotAwaiting => TypedResults.Problem(result.Detail, title: "Not awaiting this approval", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Problem(result.Detail, title: "Approval not allowed", statusCode: StatusCodes.Status403Forbidden),
        };
    }

    /// <summary><c>POST /api/runs/{id}/terminate</c>: asks the run to stop through the workflow, recording who and why.</summary>
    public static async Task<IResult> TerminateAsync(string id, HttpRequest request, AgentRunClient runs, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "terminating runs", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        var run = await runs.GetAsync(id, cancellationToken);
        if (run is null || !Caller.Of(request.HttpContext).MayAccessRunOf(run.View.Principal))
        {
            return NotFound(id);
        }
        var reason = request.Query["reason"].FirstOrDefault() is { Length: > 0 and <= 500 } r ? r : "Terminated through the API.";
        await runs.TerminateAsync(id, reason, HttpCaller.Principal(request), cancellationToken);
        return TypedResults.Accepted(Base(request) + $"/api/runs/{id}");
    }

    private static RunCreatedView Created(HttpRequest request, string runId, bool created)
    {
        var runUri = Base(request) + "/api/runs/" + runId;
        return new RunCreatedView(runId, runUri, runUri + "/terminate", runUri + "/approvals/{stepId}", created);
    }

    private static string Base(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    // Another principal's run answers as an unknown one: a requester learns nothing of runs that are not theirs.
    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"No run with id '{id}'.", title: "Run not found", statusCode: StatusCodes.Status404NotFound);
}
