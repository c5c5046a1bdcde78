using System.Globalization;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Agentic.Core.Runs;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// The policy lifecycle. Reading needs an authenticated caller with one of the API's roles; every
/// change and the simulation need the role <c>admin</c> (403 otherwise), the same rule as <see cref="ControlsApi"/>:
/// <list type="bullet">
/// <item><c>GET /api/policies</c>: the active set (enforced, shadow, the versions a rollback returns to), with an ETag of its sequence;
/// <c>GET /api/policies/versions</c> (<c>?id=</c> filters); <c>GET /api/policies/{id}/{version}</c>: the YAML and its rules;
/// <c>GET /api/policies/history</c> (<c>?max=</c>): every activation, shadow clear and rollback, newest first.</item>
/// <item><c>POST /api/policies</c> with a YAML body (<c>application/yaml</c>, <c>text/yaml</c>): stores a version.
/// 201 with <c>Location</c> when new, 200 when stored before with the same text, 409 when stored with other text,
/// 400 with every load diagnostic (line, column, code) when the policy does not load.</item>
/// <item><c>POST /api/policies/{id}/{version}/activate</c> <c>{ "mode": "enforce" | "shadow", "reason": "..." }</c>
/// (mode defaults to the policy's own <c>mode</c>); <c>POST /api/policies/shadow/clear</c> <c>{ "reason": "..." }</c>
/// (409 when there is no shadow policy); <c>POST /api/policies/rollback</c> <c>{ "reason": "..." }</c> (409 when there
/// is no previous version). Each answers the new active set and is recorded in the history with the caller.</item>
/// <item><c>POST /api/policies/simulate</c> with a candidate YAML body (<c>?since=</c> ISO 8601, <c>?max=</c>): re-evaluates
/// the recorded decisions with the candidate and lists every decision that would change.</item>
/// </list>
/// Every error is <c>application/problem+json</c>.
/// </summary>
public static class PoliciesApi
{
    /// <summary>The role every change requires.</summary>
    public const string AdminRole = ControlsApi.AdminRole;

    /// <summary>Policy bodies larger than this are refused.</summary>
    public const int MaxPolicyBytes = 256 * 1024;

    /// <summary>How many recorded decisions a simulation reads when <c>max</c> is not given.</summary>
    public const int DefaultSimulationMax = 10_000;

    /// <summary>The most recorded decisions one simulation reads.</summary>
    public const int MaxSimulationMax = 100_000;

    private const int MaxJsonBytes = 16 * 1024;

    // The name load diagnostics give the uploaded text.
    private const string BodyFile = "policy";

    /// <summary>Maps <c>/api/policies</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticPolicies(this IEndpointRouteBuilder app)
    {
        var policies = app.MapGroup("/api/policies").WithTags("Policies");
        policies.MapGet("", ActiveAsync).Describe("Active policies", "The enforced and shadow policies and the versions a rollback returns to, with an ETag.").Refusals();
        policies.MapGet("/versions", VersionsAsync).Describe("Stored policy versions", "Every stored version (?id= filters).").Refusals(StatusCodes.Status400BadRequest);
        policies.MapGet("/history", HistoryAsync).Describe("Policy history", "Every activation, shadow clear and rollback with who and why, newest first (?max=).").Refusals();
        policies.MapGet("/{id}/{version}", GetAsync).Describe("A policy version", "The stored YAML and its rules.").Refusals(StatusCodes.Status404NotFound);
        policies.MapPost("", SaveAsync).Describe("Store a policy version", "A YAML policy as the body: 201 stored, 200 already stored, 400 with each diagnostic, 409 for other text under a stored id and version (admins).")
            .Accepts<string>(RequestGuard.YamlTypes[0]).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status415UnsupportedMediaType);
        policies.MapPost("/{id}/{version}/activate", ActivateAsync).Describe("Activate a policy version", "{ mode: enforce | shadow, reason } (admins).")
            .Accepts<ActivateBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        policies.MapPost("/shadow/clear", ClearShadowAsync).Describe("Clear the shadow policy", "{ reason }; 409 when there is none (admins).")
            .Accepts<ReasonBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);
        policies.MapPost("/rollback", RollbackAsync).Describe("Roll back the enforced policy", "{ reason }: the previously enforced version again; 409 when there is none (admins).")
            .Accepts<ReasonBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);
        policies.MapPost("/simulate", SimulateAsync).Describe("Simulate a candidate policy", "A candidate YAML policy: every recorded decision it would change (?since=, ?max=; admins).")
            .Accepts<string>(RequestGuard.YamlTypes[0]).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status415UnsupportedMediaType);
        return app;
    }

    // The handlers below are public so that the Functions app's triggers call the same code as these routes.

    /// <summary><c>GET /api/policies</c>: the active set, with an ETag of its sequence.</summary>
    public static async Task<IResult> ActiveAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        var active = await store.GetActiveAsync(cancellationToken);
        request.HttpContext.Response.Headers.ETag = $"\"{active.Sequence.ToString(CultureInfo.InvariantCulture)}\"";
        return TypedResults.Json(View(active), AgenticJson.Options);
    }

    /// <summary><c>GET /api/policies/versions</c> (<c>?id=</c> filters): the stored versions.</summary>
    public static async Task<IResult> VersionsAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        var id = request.Query["id"].FirstOrDefault();
        if (id is not null && PolicyLifecycle.NameProblem(id, "id") is { } problem)
        {
            return HttpCaller.Problem("Invalid query", problem, [new("id", problem)]);
        }
        var versions = await store.ListAsync(id, cancellationToken);
        return TypedResults.Json(new { versions = versions.Select(View) }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/policies/history</c> (<c>?max=</c>): every activation, shadow clear and rollback, newest first.</summary>
    public static async Task<IResult> HistoryAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        var max = int.TryParse(request.Query["max"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? Math.Clamp(m, 1, 1000) : 100;
        var events = await store.HistoryAsync(max, cancellationToken);
        return TypedResults.Json(new { events = events.Select(e => new { e.Action, e.Id, e.Version, mode = ModeName(e.Mode), e.By, e.Reason, e.At, e.Replaced }) }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/policies/{id}/{version}</c>: the stored YAML and its rules.</summary>
    public static async Task<IResult> GetAsync(string id, string version, HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        var stored = await store.GetAsync(id, version, cancellationToken);
        if (stored is null)
        {
            return NotFound(id, version);
        }
        var active = await store.GetActiveAsync(cancellationToken);
        var slot = active.Enforced?.Is(id, version) == true ? "enforce" : active.Shadow?.Is(id, version) == true ? "shadow" : null;
        PolicyLoader.TryLoad(stored.Yaml, PolicyLifecycle.Name(id, version), out var compiled, out var diagnostics);
        return TypedResults.Json(new
        {
            stored.Info.Id,
            stored.Info.Version,
            stored.Info.ContentHash,
            stored.Info.SavedBy,
            stored.Info.SavedAt,
            active = slot,
            declaredMode = compiled is null ? null : ModeName(compiled.Mode),
            description = compiled?.Description,
            yaml = stored.Yaml,
            rules = compiled?.Rules.Select(r => new
            {
                r.Id,
                effect = PolicyEffects.Name(r.Effect),
                r.When,
                r.Description,
                approval = r.Approval is { } a ? new { a.Role, a.Quorum, a.QuorumOf, timeoutSeconds = a.Timeout.TotalSeconds, onTimeout = a.OnTimeout == ApprovalTimeoutAction.Reject ? "reject" : "escalate", a.EscalateTo } : null,
                r.Line,
                r.Column,
            }),
            diagnostics = diagnostics.Count == 0 ? null : diagnostics.Select(Diagnostic),
        }, AgenticJson.Options);
    }

    /// <summary><c>POST /api/policies</c> with a YAML body: stores a version (201 new, 200 same text, 409 other text).</summary>
    public static async Task<IResult> SaveAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: true) is { } refused)
        {
            return refused;
        }
        var (policy, yaml, problem) = await ReadPolicyAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var errors = new List<InputError>();
        if (PolicyLifecycle.NameProblem(policy!.Id, "id") is { } idProblem)
        {
            errors.Add(new("id", idProblem));
        }
        if (PolicyLifecycle.NameProblem(policy.Version, "version") is { } versionProblem)
        {
            errors.Add(new("version", versionProblem));
        }
        if (errors.Count > 0)
        {
            return HttpCaller.Problem("Policy can not be stored", "The policy's id or version can not name a stored version.", errors);
        }
        PolicySaveResult saved;
        try
        {
            saved = await store.SaveAsync(policy.Id, policy.Version, yaml!, HttpCaller.Principal(request), cancellationToken);
        }
        catch (PolicyConflictException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Policy version already stored with other text", statusCode: StatusCodes.Status409Conflict);
        }
        var location = $"/api/policies/{Uri.EscapeDataString(policy.Id)}/{Uri.EscapeDataString(policy.Version)}";
        var view = new
        {
            saved.Version.Id,
            saved.Version.Version,
            saved.Version.ContentHash,
            saved.Version.SavedBy,
            saved.Version.SavedAt,
            declaredMode = ModeName(policy.Mode),
            rules = policy.Rules.Count,
            created = saved.Created,
        };
        return saved.Created
            ? TypedResults.Json(view, AgenticJson.Options, statusCode: StatusCodes.Status201Created).WithLocation(request, location)
            : TypedResults.Json(view, AgenticJson.Options);
    }

    /// <summary><c>POST /api/policies/{id}/{version}/activate</c>: puts a stored version in force (enforce or shadow).</summary>
    public static async Task<IResult> ActivateAsync(string id, string version, HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: true) is { } refused)
        {
            return refused;
        }
        ActivateBody body;
        try
        {
            body = await ReadJsonAsync<ActivateBody>(request, cancellationToken);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var errors = new List<InputError>();
        PolicyMode? mode = body.Mode switch
        {
            null => null,
            "enforce" => PolicyMode.Enforce,
            "shadow" => PolicyMode.Shadow,
            _ => null,
        };
        if (body.Mode is not null && mode is null)
        {
            errors.Add(new("mode", "Must be \"enforce\" or \"shadow\" (absent: the policy's own mode)."));
        }
        if (ReasonProblem(body.Reason) is { } reasonProblem)
        {
            errors.Add(reasonProblem);
        }
        if (errors.Count > 0)
        {
            return HttpCaller.Problem("Invalid activation", "The activation can not be accepted.", errors);
        }
        var stored = await store.GetAsync(id, version, cancellationToken);
        if (stored is null)
        {
            return NotFound(id, version);
        }
        // A version that no longer compiles (the language got stricter) would fail every gate call closed.
        if (!PolicyLoader.TryLoad(stored.Yaml, PolicyLifecycle.Name(id, version), out var compiled, out var diagnostics))
        {
            return TypedResults.Problem($"{PolicyLifecycle.Name(id, version)} no longer compiles; store a corrected version.", title: "Policy does not compile",
                statusCode: StatusCodes.Status409Conflict, extensions: new Dictionary<string, object?> { ["errors"] = diagnostics.Select(Diagnostic).ToArray() });
        }
        try
        {
            var active = await store.ActivateAsync(id, version, mode ?? compiled.Mode, HttpCaller.Principal(request), body.Reason!.Trim(), cancellationToken);
            return TypedResults.Json(View(active), AgenticJson.Options);
        }
        catch (PolicyNotFoundException)
        {
            return NotFound(id, version);
        }
        catch (PolicyConflictException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Activation refused", statusCode: StatusCodes.Status409Conflict);
        }
    }

    /// <summary><c>POST /api/policies/shadow/clear</c>: clears the shadow policy (409 when there is none).</summary>
    public static async Task<IResult> ClearShadowAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var active = await store.ClearShadowAsync(HttpCaller.Principal(request), reason!, cancellationToken);
        return active is null
            ? TypedResults.Problem("No policy is in shadow mode.", title: "No shadow policy", statusCode: StatusCodes.Status409Conflict)
            : TypedResults.Json(View(active), AgenticJson.Options);
    }

    /// <summary><c>POST /api/policies/rollback</c>: returns to the previous enforced version (409 when there is none).</summary>
    public static async Task<IResult> RollbackAsync(HttpRequest request, [FromServices] IPolicyStore store, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        try
        {
            return TypedResults.Json(View(await store.RollbackAsync(HttpCaller.Principal(request), reason!, cancellationToken)), AgenticJson.Options);
        }
        catch (PolicyConflictException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Nothing to roll back to", statusCode: StatusCodes.Status409Conflict);
        }
    }

    /// <summary><c>POST /api/policies/simulate</c> with a candidate YAML body: the recorded decisions it would change.</summary>
    public static async Task<IResult> SimulateAsync(HttpRequest request, [FromServices] IDecisionLog log, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: true) is { } refused)
        {
            return refused;
        }
        var errors = new List<InputError>();
        DateTimeOffset? since = null;
        if (request.Query["since"].FirstOrDefault() is { } sinceText)
        {
            if (DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                since = parsed;
            }
            else
            {
                errors.Add(new("since", "Must be an ISO 8601 time, e.g. 2025-01-31T12:00:00Z."));
            }
        }
        var max = DefaultSimulationMax;
        if (request.Query["max"].FirstOrDefault() is { } maxText
            && (!int.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > MaxSimulationMax))
        {
            errors.Add(new("max", $"Must be a whole number from 1 to {MaxSimulationMax}."));
        }
        if (errors.Count > 0)
        {
            return HttpCaller.Problem("Invalid query", "The simulation can not be run with this query.", errors);
        }
        var (candidate, _, problem) = await ReadPolicyAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var report = await DecisionSimulator.SimulateAsync(log.ReadDecisionsAsync(since, max, cancellationToken), candidate!, cancellationToken);
        return TypedResults.Json(View(report), AgenticJson.Options);
    }

    /// <summary>The JSON document of a simulation report (what <c>POST /api/policies/simulate</c> answers).</summary>
    public static object View(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new
        {
            policy = new { id = report.PolicyId, version = report.PolicyVersion, contentHash = report.ContentHash },
            report.Evaluated,
            report.Changed,
            skipped = report.Skipped,
            summary = report.Summary,
            changes = report.Changes.Select(c => new
            {
                c.RunId,
                c.StepId,
                c.Tool,
                c.DecidedAt,
                recorded = new { effect = PolicyEffects.Name(c.OldEffect), rule = c.OldRule, policy = c.OldPolicy },
                candidate = new { effect = PolicyEffects.Name(c.NewEffect), rule = c.NewRule, reason = c.NewReason },
            }),
        };
    }

    private static object View(ActivePolicySet set) => new
    {
        set.Sequence,
        enforced = set.Enforced is null ? null : View(set.Enforced, PolicyMode.Enforce),
        shadow = set.Shadow is null ? null : View(set.Shadow, PolicyMode.Shadow),
        previous = set.Previous.Select(p => View(p, PolicyMode.Enforce)),
    };

    private static object View(PolicySlot slot, PolicyMode mode) =>
        new { slot.Id, slot.Version, slot.ContentHash, mode = ModeName(mode), slot.ActivatedBy, slot.ActivatedAt, slot.Reason };

    private static object View(PolicyVersionInfo v) => new { v.Id, v.Version, v.ContentHash, v.SavedBy, v.SavedAt };

    private static object Diagnostic(Diagnostic d) => new { field = BodyFile, line = d.Line, column = d.Column, code = d.Code, message = d.Message };

    private static string ModeName(PolicyMode mode) => mode == PolicyMode.Shadow ? "shadow" : "enforce";

    /// <summary>Reads and compiles a YAML policy body; answers the policy and its text, or the problem to return.</summary>
    private static async Task<(CompiledPolicy? Policy, string? Yaml, IResult? Problem)> ReadPolicyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (yaml, problem) = await HttpCaller.ReadYamlAsync(request, MaxPolicyBytes, PolicyLifecycle.MaxYamlChars, "policy", cancellationToken);
        if (problem is not null)
        {
            return (null, null, problem);
        }
        if (!PolicyLoader.TryLoad(yaml!, BodyFile, out var policy, out var diagnostics))
        {
            var detail = diagnostics.Count == 1 ? "The policy does not load: " + diagnostics[0] : $"The policy does not load: {diagnostics.Count} problems.";
            return (null, null, TypedResults.Problem(detail, title: "Policy does not load", statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["errors"] = diagnostics.Select(Diagnostic).ToArray() }));
        }
        return (policy, yaml, null);
    }

    private static async Task<(string? Reason, IResult? Problem)> ReasonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: true) is { } refused)
        {
            return (null, refused);
        }
        ReasonBody body;
        try
        {
            body = await ReadJsonAsync<ReasonBody>(request, cancellationToken);
        }
        catch (InputException ex)
        {
            return (null, HttpCaller.Problem(ex.Title, ex.Message, ex.Errors));
        }
        return ReasonProblem(body.Reason) is { } problem
            ? (null, HttpCaller.Problem("Invalid request", "The change can not be accepted.", [problem]))
            : (body.Reason!.Trim(), null);
    }

    private static InputError? ReasonProblem(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? new("reason", "Required: why; it is recorded in the policy history.")
        : reason.Length > PolicyLifecycle.MaxReasonLength ? new("reason", $"At most {PolicyLifecycle.MaxReasonLength} characters.")
        : null;

    private static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        var body = await HttpCaller.ReadBodyAsync(request, MaxJsonBytes, cancellationToken)
            ?? throw HttpCaller.TooLarge(MaxJsonBytes);
        if (body.Length == 0)
        {
            throw new InputException("Request body required", [new("$", "The body is empty; send a JSON object.")]);
        }
        try
        {
            return JsonSerializer.Deserialize<T>(body, AgenticJson.Strict)
                ?? throw new InputException("Request body required", [new("$", "The body is JSON null; send a JSON object.")]);
        }
        catch (JsonException ex)
        {
            throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
        }
    }

    /// <summary>401 for an unauthenticated caller; 403 for a reader without a role, or a change by a caller without the admin role.</summary>
    private static ProblemHttpResult? Refusal(HttpRequest request, bool admin) => admin
        ? HttpCaller.Refusal(request, "policy changes", AgenticRoles.Admin)
        : HttpCaller.Refusal(request, "reading policies", [.. AgenticRoles.All]);

    private static ProblemHttpResult NotFound(string id, string version) =>
        TypedResults.Problem($"No policy version {PolicyLifecycle.Name(id, version)} is stored.", title: "Policy version not found", statusCode: StatusCodes.Status404NotFound);

    private static IResult WithLocation(this IResult result, HttpRequest request, string location)
    {
        request.HttpContext.Response.Headers.Location = location;
        return result;
    }

    /// <summary>The body of <c>POST /api/policies/{id}/{version}/activate</c>.</summary>
    public sealed record ActivateBody(string? Mode = null, string? Reason = null);

    /// <summary>The body of the shadow clear and rollback routes.</summary>
    public sealed record ReasonBody(string? Reason = null);
}
