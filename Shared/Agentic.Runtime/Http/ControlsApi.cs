using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// Kill switches and quarantines, admin role only (an authenticated caller who holds <c>admin</c>; anyone else gets
/// 401 or 403 problem+json):
/// <list type="bullet">
/// <item><c>GET /api/controls</c>: the engaged controls; <c>GET /api/controls/history</c>: every engage and release, newest first.</item>
/// <item><c>POST /api/controls/kill-switch</c> <c>{ "scope": "global" | "agent" | "tool", "target": "name", "reason": "..." }</c>
/// engages (200 with the control); <c>POST /api/controls/kill-switch/release</c> with the same body releases (204, 404 if not engaged).</item>
/// <item><c>POST /api/controls/quarantine</c> <c>{ "tool": "name", "reason": "..." }</c> quarantines a tool;
/// <c>POST /api/controls/quarantine/release</c> with the same body releases it.</item>
/// </list>
/// Releases are POSTs with a body, not DELETEs, so the release carries its reason into the history.
/// Bodies are strict JSON: unknown members and bad values are 400 problem+json naming the field.
/// </summary>
public static class ControlsApi
{
    /// <summary>The role every controls route requires.</summary>
    public const string AdminRole = AgenticRoles.Admin;

    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>Maps <c>/api/controls</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticControls(this IEndpointRouteBuilder app)
    {
        var controls = app.MapGroup("/api/controls").WithTags("Controls");
        controls.MapGet("", ListAsync).Describe("Engaged controls", "Engaged kill switches and quarantines (admins).").Refusals();
        controls.MapGet("/history", HistoryAsync).Describe("Control history", "Every engage and release with who, when and why, newest first (?max=, admins).").Refusals();
        controls.MapPost("/kill-switch", EngageKillSwitchAsync).Describe("Engage a kill switch", "{ scope: global | agent | tool, target, reason }: the gate denies every matching step (admins).")
            .Accepts<KillSwitchBody>("application/json").Refusals(StatusCodes.Status400BadRequest);
        controls.MapPost("/kill-switch/release", ReleaseKillSwitchAsync).Describe("Release a kill switch", "204, or 404 when it is not engaged (admins).")
            .Accepts<KillSwitchBody>("application/json").Produces(StatusCodes.Status204NoContent).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        controls.MapPost("/quarantine", QuarantineAsync).Describe("Quarantine a tool", "{ tool, reason }: takes one tool out of service (admins).")
            .Accepts<QuarantineBody>("application/json").Refusals(StatusCodes.Status400BadRequest);
        controls.MapPost("/quarantine/release", ReleaseQuarantineAsync).Describe("Release a quarantine", "204, or 404 when the tool is not quarantined (admins).")
            .Accepts<QuarantineBody>("application/json").Produces(StatusCodes.Status204NoContent).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        return app;
    }

    // The handlers below are public so that the Functions app's triggers call the same code as these routes.

    /// <summary><c>GET /api/controls</c>: the engaged controls.</summary>
    public static async Task<IResult> ListAsync(HttpRequest request, [FromServices] IControlStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request) is { } refused)
        {
            return refused;
        }
        var active = await store.ListActiveAsync(cancellationToken);
        return TypedResults.Json(new { controls = active.Select(View) }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/controls/history</c> (<c>?max=</c>, 1 to 1000, default 100): every engage and release, newest first.</summary>
    public static async Task<IResult> HistoryAsync(HttpRequest request, [FromServices] IControlStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request) is { } refused)
        {
            return refused;
        }
        var max = int.TryParse(request.Query["max"].FirstOrDefault(), out var m) ? Math.Clamp(m, 1, 1000) : 100;
        var events = await store.HistoryAsync(max, cancellationToken);
        return TypedResults.Json(new { events = events.Select(e => new { e.Action, scope = Controls.Name(e.Scope), e.Target, kind = Controls.Name(e.Kind), e.Reason, e.By, e.At }) }, AgenticJson.Options);
    }

    /// <summary><c>POST /api/controls/kill-switch</c>: engages a kill switch (200 with the control).</summary>
    public static Task<IResult> EngageKillSwitchAsync(HttpRequest request, [FromServices] IControlStore store, [FromServices] IAgentCatalogProvider agents, [FromServices] ToolRegistry tools, CancellationToken cancellationToken) =>
        ChangeAsync(request, store, agents, tools, ControlKind.KillSwitch, engage: true, cancellationToken);

    /// <summary><c>POST /api/controls/kill-switch/release</c>: releases a kill switch (204; 404 if not engaged).</summary>
    public static Task<IResult> ReleaseKillSwitchAsync(HttpRequest request, [FromServices] IControlStore store, [FromServices] IAgentCatalogProvider agents, [FromServices] ToolRegistry tools, CancellationToken cancellationToken) =>
        ChangeAsync(request, store, agents, tools, ControlKind.KillSwitch, engage: false, cancellationToken);

    /// <summary><c>POST /api/controls/quarantine</c>: quarantines a tool (200 with the control).</summary>
    public static Task<IResult> QuarantineAsync(HttpRequest request, [FromServices] IControlStore store, [FromServices] IAgentCatalogProvider agents, [FromServices] ToolRegistry tools, CancellationToken cancellationToken) =>
        ChangeAsync(request, store, agents, tools, ControlKind.Quarantine, engage: true, cancellationToken);

    /// <summary><c>POST /api/controls/quarantine/release</c>: releases a tool's quarantine (204; 404 if not quarantined).</summary>
    public static Task<IResult> ReleaseQuarantineAsync(HttpRequest request, [FromServices] IControlStore store, [FromServices] IAgentCatalogProvider agents, [FromServices] ToolRegistry tools, CancellationToken cancellationToken) =>
        ChangeAsync(request, store, agents, tools, ControlKind.Quarantine, engage: false, cancellationToken);

    internal static async Task<IResult> ChangeAsync(HttpRequest request, IControlStore store, IAgentCatalogProvider agents, ToolRegistry tools, ControlKind kind, bool engage, CancellationToken cancellationToken)
    {
        if (Refusal(request) is { } refused)
        {
            return refused;
        }
        var principal = HttpCaller.Principal(request);
        (ControlScope Scope, string? Target, string Reason) change;
        try
        {
            change = Parse(await HttpCaller.ReadBodyAsync(request, MaxBodyBytes, cancellationToken), kind, engage, await OfferedAsync(agents, cancellationToken), tools);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        if (engage)
        {
            var control = await store.EngageAsync(change.Scope, change.Target, kind, change.Reason, principal, cancellationToken);
            return TypedResults.Json(View(control), AgenticJson.Options);
        }
        return await store.ReleaseAsync(change.Scope, change.Target, kind, change.Reason, principal, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem($"No {Controls.Name(kind)} is engaged for {Controls.Rule(change.Scope, change.Target, kind)}.", title: "Control not engaged", statusCode: StatusCodes.Status404NotFound);
    }

    // A control must engage even when the agents offered can not be read: then the agent's name is not checked.
    private static async Task<AgentCatalog?> OfferedAsync(IAgentCatalogProvider agents, CancellationToken cancellationToken)
    {
        try
        {
            return await agents.GetAsync(cancellationToken);
        }
        catch (AgentCatalogUnavailableException)
        {
            return null;
        }
    }

    private static (ControlScope Scope, string? Target, string Reason) Parse(byte[]? body, ControlKind kind, bool engage, AgentCatalog? agents, ToolRegistry tools)
    {
        const string invalid = "Invalid control";
        if (body is null)
        {
            throw HttpCaller.TooLarge(MaxBodyBytes);
        }
        if (body.Length == 0)
        {
            throw new InputException("Request body required", [new("$", "The body is empty; send a JSON object.")]);
        }
        string? scopeName, target, reason;
        try
        {
            if (kind == ControlKind.KillSwitch)
            {
                var wire = JsonSerializer.Deserialize<KillSwitchBody>(body, AgenticJson.Strict)
                    ?? throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
                (scopeName, target, reason) = (wire.Scope, wire.Target, wire.Reason);
            }
            else
            {
                var wire = JsonSerializer.Deserialize<QuarantineBody>(body, AgenticJson.Strict)
                    ?? throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
                (scopeName, target, reason) = ("tool", wire.Tool, wire.Reason);
            }
        }
        catch (JsonException ex)
        {
            throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
        }

        var errors = new List<InputError>();
        var targetField = kind == ControlKind.Quarantine ? "tool" : "target";
        var scope = Controls.ParseScope(scopeName);
        if (scope is null)
        {
            errors.Add(new("scope", "Required: \"global\", \"agent\" or \"tool\"."));
        }
        else if (Controls.TargetProblem(scope.Value, target, kind) is { } problem)
        {
            errors.Add(new(targetField, problem));
        }
        else if (engage && scope == ControlScope.Agent && agents is not null && !agents.Contains(target!))
        {
            // Engaging a control on a misspelt name would look like safety and stop nothing.
            errors.Add(new(targetField, $"Unknown agent '{target}'. Known agents: {string.Join(", ", agents.Names)}."));
        }
        else if (engage && scope == ControlScope.Tool && !tools.TryResolve(target!, out _))
        {
            errors.Add(new(targetField, $"Unknown tool '{target}'. Known tools: {string.Join(", ", tools.Descriptors.Select(d => d.Name).Distinct())}."));
        }
        if (engage && string.IsNullOrWhiteSpace(reason))
        {
            errors.Add(new("reason", "Required: why the control is engaged; it is recorded in every decision it makes."));
        }
        else if (reason is { Length: > Controls.MaxReasonLength })
        {
            errors.Add(new("reason", $"At most {Controls.MaxReasonLength} characters."));
        }
        if (errors.Count > 0)
        {
            throw new InputException(invalid, errors);
        }
        return (scope!.Value, target, string.IsNullOrWhiteSpace(reason) ? "Released through the API." : reason.Trim());
    }

    private static object View(ControlState c) =>
        new { scope = Controls.Name(c.Scope), c.Target, kind = Controls.Name(c.Kind), rule = c.Rule, c.Reason, c.EngagedBy, c.EngagedAt };

    /// <summary>401 for an unauthenticated caller, 403 for one without the admin role.</summary>
    private static ProblemHttpResult? Refusal(HttpRequest request) => HttpCaller.Refusal(request, "kill switches and quarantines", AgenticRoles.Admin);

    /// <summary>The body of the kill switch routes.</summary>
    public sealed record KillSwitchBody(string? Scope = null, string? Target = null, string? Reason = null);

    /// <summary>The body of the quarantine routes.</summary>
    public sealed record QuarantineBody(string? Tool = null, string? Reason = null);
}
