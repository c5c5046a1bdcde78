using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Durable;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

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
    /// <summary>
    /// Maps every route of the API: health, the OpenAPI document, <c>/api/runs</c>, <c>/api/approvals</c>,
    /// the agents' routes (catalog, lifecycle and drift), <c>/api/tools</c>, <c>/api/me</c>, the audit, controls, policies and MCP routes.
    /// </summary>
    public static IEndpointRouteBuilder MapAgenticApi(this IEndpointRouteBuilder app)
    {
        app.MapAgenticHealth();
        app.MapAgenticOpenApi();
        var runs = app.MapGroup("/api/runs").WithTags("Runs");
        runs.MapPost("", SubmitAsync).Describe("Submit a run", "A requester asks an agent to act on a target; 202 with the run's URIs (the same run again for a repeated idempotency key).")
            .Accepts<RunRequestBody>("application/json").Produces<RunCreatedView>(StatusCodes.Status202Accepted).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status503ServiceUnavailable);
        runs.MapGet("", ListAsync).Describe("List runs", "A page of runs, newest filters first: status, agent, principal, creation time; a requester sees only their own.")
            .Produces<RunPageView>().Refusals(StatusCodes.Status400BadRequest);
        runs.MapGet("/{id}", GetAsync).Describe("Read a run", "The run's document: 202 while it runs, 200 once it ended.")
            .Produces<RunView>().Produces<RunView>(StatusCodes.Status202Accepted).Refusals(StatusCodes.Status404NotFound);
        runs.MapPost("/{id}/approvals/{stepId}", DecideAsync).Describe("Approve or reject a step", "A human's answer to the approval a run waits for.")
            .Accepts<ApprovalRequest>("application/json").Produces<ApprovalAnswerView>(StatusCodes.Status202Accepted)
            .Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        runs.MapPost("/{id}/terminate", TerminateAsync).Describe("Terminate a run", "The run ends as terminated, recording who and why (?reason= or a { \"reason\" } body).")
            .Accepts<TerminateBody>("application/json").Produces(StatusCodes.Status202Accepted).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        app.MapGet("/api/approvals", ListApprovalsAsync).WithTags("Runs").Describe("List pending approvals", "The steps waiting for an approval the caller may give: their role, not their own run, not answered yet.")
            .Produces<ApprovalPageView>().Refusals(StatusCodes.Status400BadRequest);
        app.MapAgenticAgents();
        app.MapGet("/api/tools", ListTools).WithTags("Catalog").Describe("List tools", "The tool catalog: contracts, limits and secret names (never values).").Refusals();
        app.MapAgenticAudit();
        app.MapAgenticControls();
        app.MapAgenticPolicies();
        app.MapAgenticMcp();
        app.MapAgenticDrift();
        app.MapAgenticMe();
        app.MapAgenticMonitors();
        return app;
    }

    /// <summary><c>GET /api/tools</c>: the tool catalog with contracts (assessment included), limits and secret names (never values).</summary>
    public static IResult ListTools(HttpRequest request, [FromServices] ToolRegistry tools) =>
        (IResult?)HttpCaller.Refusal(request, "reading the tool catalog", [.. AgenticRoles.All])
        ?? TypedResults.Ok(tools.Descriptors.Select(d => new { d.Name, d.Version, d.Description, risk = d.Risk, sideEffect = d.SideEffect, d.Idempotent, timeoutSeconds = d.Timeout.TotalSeconds, d.MaxOutputBytes, d.Hash, inputSchema = d.InputSchemaJson, outputSchema = d.OutputSchemaJson,
            // Limits, costs and labels; secrets by name only, never a value.
            rateLimit = d.RateLimit is { } rate ? new { permits = rate.Permits, perSeconds = rate.Per.TotalSeconds } : null,
            d.MaxConcurrency, secrets = d.Secrets ?? [], d.CompensatingTool, cost = d.CallCost, tags = d.Tags ?? [],
            // What the gate asks the tool's service before the policy decides, and whether it records data as given.
            assessmentSchema = d.AssessmentSchemaJson, d.DataEntry }));

    /// <summary><c>POST /api/runs</c>: a <c>requester</c> submits a run; 202 with the run's URIs (the same run again for a repeated idempotency key).</summary>
    public static async Task<Results<Accepted<RunCreatedView>, ProblemHttpResult>> SubmitAsync(HttpRequest request, [FromServices] AgentRunClient runs, [FromServices] RunAdmissions admissions, CancellationToken cancellationToken)
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
    public static async Task<IResult> GetAsync(string id, HttpRequest request, [FromServices] AgentRunClient runs, CancellationToken cancellationToken)
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
    public static async Task<IResult> DecideAsync(string id, string stepId, HttpRequest request, [FromServices] AgentRunClient runs, CancellationToken cancellationToken)
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
            ApprovalRefusal.None => TypedResults.Json(new ApprovalAnswerView(id, stepId, result.Approval!.Decision, result.Approval.Approver, result.Approval.ArgsDigest, result.Detail), AgenticJson.Options, statusCode: StatusCodes.Status202Accepted),
            ApprovalRefusal.UnknownRun => NotFound(id),
            ApprovalRefusal.NotAwaiting => TypedResults.Problem(result.Detail, title: "Not awaiting this approval", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Problem(result.Detail, title: "Approval not allowed", statusCode: StatusCodes.Status403Forbidden),
        };
    }

    /// <summary>
    /// <c>POST /api/runs/{id}/terminate</c>: asks the run to stop through the workflow, recording who and why. The reason
    /// comes from an optional JSON body <c>{ "reason": "..." }</c> or, as in Durable Functions, <c>?reason=</c>.
    /// </summary>
    public static async Task<IResult> TerminateAsync(string id, HttpRequest request, [FromServices] AgentRunClient runs, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "terminating runs", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        string reason;
        try
        {
            reason = TerminateBody.ReasonOf(await HttpCaller.ReadBodyAsync(request, TerminateBody.MaxBytes, cancellationToken), request.Query["reason"]);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var run = await runs.GetAsync(id, cancellationToken);
        if (run is null || !Caller.Of(request.HttpContext).MayAccessRunOf(run.View.Principal))
        {
            return NotFound(id);
        }
        await runs.TerminateAsync(id, reason, HttpCaller.Principal(request), cancellationToken);
        return TypedResults.Accepted(Base(request) + $"/api/runs/{id}");
    }

    /// <summary>
    /// <c>GET /api/runs</c>: a page of runs (<see cref="RunListQuery"/>) with a continuation token while there may be more.
    /// Operators and admins see every run; a requester sees only their own, whatever <c>principal</c> says.
    /// </summary>
    public static async Task<IResult> ListAsync(HttpRequest request, [FromServices] AgentRunClient runs, CancellationToken cancellationToken)
    {
        if (HttpCaller.Refusal(request, "listing runs", [.. AgenticRoles.All]) is { } refused)
        {
            return refused;
        }
        var caller = Caller.Of(request.HttpContext);
        RunListQuery query;
        string? engineToken;
        try
        {
            query = RunListQuery.Parse(Parameters(request));
            // A requester's list is their own runs: the filter is theirs, never what the query names.
            if (!caller.SeesAllRuns)
            {
                query = query with { Principal = caller.Id };
            }
            engineToken = ListPaging.Decode(query.ContinuationToken, query.Scope());
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var page = await runs.ListAsync(new RunQuery(query.Status, query.Agent, query.Principal, query.CreatedFrom, query.CreatedTo, query.Top, engineToken), cancellationToken);
        var token = ListPaging.Encode(page.ContinuationToken, query.Scope());
        return TypedResults.Json(new RunPageView([.. page.Runs.Select(r => RunSummaryView.Of(r.View))], token, Next(request, token)), AgenticJson.Options);
    }

    /// <summary>
    /// <c>GET /api/approvals?status=pending&amp;role=</c>: the steps waiting for an approval the caller may give: the
    /// caller holds the role the decision names, did not request the run, and has not answered yet. Any authenticated
    /// caller with a role may ask (approver roles are whatever the policy names); a requester who holds no approver role
    /// gets an empty list, since no one decides on their own runs.
    /// </summary>
    public static async Task<IResult> ListApprovalsAsync(HttpRequest request, [FromServices] AgentRunClient runs, CancellationToken cancellationToken)
    {
        var caller = Caller.Of(request.HttpContext);
        if (!caller.IsAuthenticated)
        {
            return HttpCaller.Refusal(request, "listing approvals")!;
        }
        if (caller.Roles.Count == 0)
        {
            // Approver roles are whatever the policy names, so any role may have something to decide; no role has nothing.
            return TypedResults.Problem($"Listing approvals needs a role: an approval is decided by the role its policy rule names; {caller.Id} holds no role.",
                title: "Role required", statusCode: StatusCodes.Status403Forbidden);
        }
        ApprovalListQuery query;
        string? engineToken;
        try
        {
            query = ApprovalListQuery.Parse(Parameters(request));
            engineToken = ListPaging.Decode(query.ContinuationToken, query.Scope(caller.Id));
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var page = await runs.ListAwaitingApprovalAsync(
            r => (query.Role is null || string.Equals(r.View.PendingApproval!.ApproverRole, query.Role, StringComparison.OrdinalIgnoreCase))
                && ApprovalRules.MayDecide(r.View.PendingApproval!, r.View.Principal, caller.Id, caller.Roles),
            query.Top, engineToken, cancellationToken);
        var token = ListPaging.Encode(page.ContinuationToken, query.Scope(caller.Id));
        var approvals = page.Runs.Select(r => ApprovalView.Of(r.View, (run, step) => Base(request) + $"/api/runs/{Uri.EscapeDataString(run)}/approvals/{Uri.EscapeDataString(step)}")!).ToList();
        return TypedResults.Json(new ApprovalPageView(approvals, token, Next(request, token)), AgenticJson.Options);
    }

    // The query as the parsers take it; the key (?code=) is skipped by them and never echoed.
    private static IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> Parameters(HttpRequest request) =>
        request.Query.Select(q => new KeyValuePair<string, IReadOnlyList<string?>>(q.Key, q.Value));

    // The same query with the next page's token; the key a caller sent as ?code= is left out.
    private static string? Next(HttpRequest request, string? token)
    {
        if (token is null)
        {
            return null;
        }
        var query = request.Query.Where(q => q.Key is not ListPaging.KeyParameter && !string.Equals(q.Key, ListPaging.TokenParameter, StringComparison.OrdinalIgnoreCase))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new(ListPaging.TokenParameter, token));
        return Base(request) + request.Path + QueryString.Create(query);
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

/// <summary>The answer to an accepted approval or rejection.</summary>
public sealed record ApprovalAnswerView(string RunId, string StepId, string Decision, string Approver, string? ArgsDigest, string Detail);

/// <summary>The optional body of <c>POST /api/runs/{id}/terminate</c>: <c>{ "reason": "..." }</c>.</summary>
public sealed record TerminateBody(string? Reason = null)
{
    /// <summary>The largest body accepted.</summary>
    public const int MaxBytes = 4 * 1024;

    /// <summary>The longest reason accepted.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>
    /// The reason from <paramref name="body"/> (strict JSON; <c>null</c> means too large) or else <paramref name="query"/>;
    /// throws <see cref="InputException"/> naming the problem.
    /// </summary>
    public static string ReasonOf(byte[]? body, string? query)
    {
        if (body is null)
        {
            throw HttpCaller.TooLarge(MaxBytes);
        }
        string? reason = query;
        var field = "reason";
        if (body.Length > 0)
        {
            TerminateBody? wire;
            try
            {
                wire = JsonSerializer.Deserialize<TerminateBody>(body, AgenticJson.Strict);
            }
            catch (JsonException ex)
            {
                throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
            }
            if (wire?.Reason is { } given)
            {
                if (query is not null)
                {
                    throw new InputException("Invalid termination", [new("reason", "Give the reason once: in the body or as ?reason=, not both.")]);
                }
                (reason, field) = (given, "$.reason");
            }
        }
        if (reason is { Length: > MaxReasonLength })
        {
            throw new InputException("Invalid termination", [new(field, $"At most {MaxReasonLength} characters.")]);
        }
        return string.IsNullOrWhiteSpace(reason) ? "Terminated through the API." : reason.Trim();
    }
}
