using System.Globalization;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Runs;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// The agents a deployment offers, and their lifecycle. Reading needs an authenticated caller with one of the API's
/// roles; every change needs the role <c>admin</c> (403 otherwise), as for policies (<see cref="PoliciesApi"/>):
/// <list type="bullet">
/// <item><c>GET /api/agents</c>: the offer, each agent's active version and hash, and where it comes from (shipped, or
/// uploaded by whom and activated by whom, when and why); <c>GET /api/agents/{name}/versions</c>: its stored versions;
/// <c>GET /api/agents/{name}/history</c> (<c>?max=</c>): every activation and deactivation of it, newest first.</item>
/// <item><c>POST /api/agents</c> with a YAML body (<c>application/yaml</c>, <c>text/yaml</c>): loaded, its tools checked
/// against the tool registry and its planner against the configured models and prompt templates, then stored. 201 with
/// <c>Location</c> when new, 200 when stored before with the same text, 409 when stored with other text or when it
/// takes the name of a shipped agent without a newer version, 400 with every diagnostic (line, column, code).</item>
/// <item><c>POST /api/agents/{name}/{version}/activate</c> <c>{ "reason": "..." }</c>: that version is the one new runs
/// of <c>name</c> use (a new name becomes offered); <c>POST /api/agents/{name}/deactivate</c> <c>{ "reason": "..." }</c>:
/// the uploaded agent leaves the offer (a shipped agent of the name is offered again). Runs in flight keep the version
/// they were admitted with. Each answers the active set and is recorded in the history and the audit's control chain.</item>
/// </list>
/// Every error is <c>application/problem+json</c>.
/// </summary>
public static class AgentsApi
{
    /// <summary>Agent bodies larger than this are refused (the policy upload's limit).</summary>
    public const int MaxAgentBytes = PoliciesApi.MaxPolicyBytes;

    private const int MaxJsonBytes = 16 * 1024;

    // The name load diagnostics give the uploaded text.
    private const string BodyFile = "agent";

    /// <summary>Maps <c>/api/agents</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticAgents(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/api/agents").WithTags("Catalog");
        agents.MapGet("", ListAsync).Describe("List agents", "The agents offered now: each definition's version, hash, autonomy, planner, tools and signal sources, and where it comes from (shipped, or uploaded and activated by whom, when and why).")
            .Refusals(StatusCodes.Status503ServiceUnavailable);
        agents.MapGet("/{name}/versions", VersionsAsync).Describe("An agent's versions", "Every stored version of the agent, which one is offered and which uploaded one is active.")
            .Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
        agents.MapGet("/{name}/history", HistoryAsync).Describe("An agent's history", "Every activation and deactivation of the agent with who and why, newest first (?max=).")
            .Refusals(StatusCodes.Status400BadRequest);
        agents.MapPost("", SaveAsync).Describe("Store an agent version", "A YAML agent as the body, checked against this deployment's tools, models and prompts: 201 stored, 200 already stored, 400 with each diagnostic, 409 for other text under a stored version or a shipped agent's name (admins).")
            .Accepts<string>(RequestGuard.YamlTypes[0]).Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status415UnsupportedMediaType);
        agents.MapPost("/{name}/{version}/activate", ActivateAsync).Describe("Activate an agent version", "{ reason }: new runs of the agent use this version; runs in flight keep theirs (admins).")
            .Accepts<PoliciesApi.ReasonBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        agents.MapPost("/{name}/deactivate", DeactivateAsync).Describe("Deactivate an uploaded agent", "{ reason }: the uploaded agent leaves the offer (a shipped agent of the name is offered again); 409 when none is active (admins).")
            .Accepts<PoliciesApi.ReasonBody>("application/json").Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict);
        return app;
    }

    // The handlers below are public so that the Functions app's triggers call the same code as these routes.

    /// <summary>
    /// <c>GET /api/agents</c>: the agents offered now, for any caller with one of the API's roles: each definition's version
    /// and content hash, autonomy, planner, tools and signal sources, never its playbook; and its source.
    /// </summary>
    public static async Task<IResult> ListAsync(HttpRequest request, [FromServices] IAgentCatalogProvider agents, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        AgentCatalog catalog;
        try
        {
            catalog = await agents.GetAsync(cancellationToken);
        }
        catch (AgentCatalogUnavailableException)
        {
            return Unavailable();
        }
        return TypedResults.Json(catalog.Agents.Select(a => new
        {
            name = a.Name,
            description = a.Description,
            version = a.Version,
            hash = a.Hash,
            autonomy = a.Autonomy,
            planner = a.PlannerKind,
            tools = a.Tools,
            signals = a.Signals.Select(Signal),
            source = a.Upload is null ? "shipped" : "uploaded",
            uploadedBy = a.Upload?.SavedBy,
            uploadedAt = a.Upload?.SavedAt,
            activatedBy = a.Upload?.ActivatedBy,
            activatedAt = a.Upload?.ActivatedAt,
            reason = a.Upload?.Reason,
        }), AgenticJson.Options);
    }

    /// <summary><c>GET /api/agents/{name}/versions</c>: the stored versions of an agent, which one is offered and which uploaded one is active.</summary>
    public static async Task<IResult> VersionsAsync(string name, HttpRequest request, [FromServices] IAgentStore store, [FromServices] IAgentCatalogProvider agents, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        if (AgentLifecycle.NameProblem(name, "name") is { } problem)
        {
            return HttpCaller.Problem("Invalid agent name", problem, [new("name", problem)]);
        }
        AgentCatalog catalog;
        try
        {
            catalog = await agents.GetAsync(cancellationToken);
        }
        catch (AgentCatalogUnavailableException)
        {
            return Unavailable();
        }
        var versions = await store.ListAsync(name, cancellationToken);
        var offered = catalog.Find(name);
        if (versions.Count == 0 && offered is null)
        {
            return NotFound($"No agent '{name}' is offered or stored.");
        }
        var active = (await store.GetActiveAsync(cancellationToken)).Find(name);
        return TypedResults.Json(new
        {
            name,
            offered = offered is null ? null : new { version = offered.Version, hash = offered.Hash, source = offered.Upload is null ? "shipped" : "uploaded" },
            activeUpload = active is null ? null : View(active),
            versions = versions.Select(v => new
            {
                v.Version,
                v.ContentHash,
                source = v.Shipped ? "shipped" : "uploaded",
                v.SavedBy,
                v.SavedAt,
                offered = offered is not null && AgentCatalog.Matches(offered, v.Version, v.ContentHash),
            }),
        }, AgenticJson.Options);
    }

    /// <summary><c>GET /api/agents/{name}/history</c> (<c>?max=</c>): every activation and deactivation of an agent, newest first.</summary>
    public static async Task<IResult> HistoryAsync(string name, HttpRequest request, [FromServices] IAgentStore store, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: false) is { } refused)
        {
            return refused;
        }
        if (AgentLifecycle.NameProblem(name, "name") is { } problem)
        {
            return HttpCaller.Problem("Invalid agent name", problem, [new("name", problem)]);
        }
        var max = int.TryParse(request.Query["max"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? Math.Clamp(m, 1, 1000) : 100;
        var events = await store.HistoryAsync(name, max, cancellationToken);
        return TypedResults.Json(new { events = events.Select(e => new { e.Action, e.Name, e.Version, e.By, e.Reason, e.At, e.Replaced }) }, AgenticJson.Options);
    }

    /// <summary><c>POST /api/agents</c> with a YAML body: checks and stores a version (201 new, 200 same text, 409 other text or a shipped name's older version).</summary>
    public static async Task<IResult> SaveAsync(HttpRequest request, [FromServices] IAgentStore store, [FromServices] AgentCatalog shipped, [FromServices] AgentChecks checks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shipped);
        if (Refusal(request, admin: true) is { } refused)
        {
            return refused;
        }
        var (yaml, problem) = await HttpCaller.ReadYamlAsync(request, MaxAgentBytes, AgentLifecycle.MaxYamlChars, "agent", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var (agent, diagnostics) = Check(yaml!, BodyFile, shipped, checks);
        if (agent is null)
        {
            return DoesNotLoad(diagnostics, StatusCodes.Status400BadRequest, diagnostics.Count == 1 ? "The agent does not load: " + diagnostics[0] : $"The agent does not load: {diagnostics.Count} problems.");
        }
        if (AgentLifecycle.NameProblem(agent.Version, "version") is { } versionProblem)
        {
            return HttpCaller.Problem("Agent can not be stored", "The agent's version can not name a stored version.", [new("version", versionProblem)]);
        }
        if (AgentLifecycle.ShippedConflict(shipped, agent.Name, agent.Version!) is { } conflict)
        {
            return TypedResults.Problem(conflict, title: "Agent name taken by a shipped agent", statusCode: StatusCodes.Status409Conflict);
        }
        AgentSaveResult saved;
        try
        {
            saved = await store.SaveAsync(agent.Name, agent.Version!, yaml!, HttpCaller.Principal(request), cancellationToken);
        }
        catch (AgentConflictException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Agent version already stored with other text", statusCode: StatusCodes.Status409Conflict);
        }
        var view = new
        {
            saved.Version.Name,
            saved.Version.Version,
            saved.Version.ContentHash,
            saved.Version.SavedBy,
            saved.Version.SavedAt,
            created = saved.Created,
        };
        if (!saved.Created)
        {
            return TypedResults.Json(view, AgenticJson.Options);
        }
        request.HttpContext.Response.Headers.Location = $"/api/agents/{Uri.EscapeDataString(agent.Name)}/versions";
        return TypedResults.Json(view, AgenticJson.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary><c>POST /api/agents/{name}/{version}/activate</c>: the version new runs of the agent use.</summary>
    public static async Task<IResult> ActivateAsync(string name, string version, HttpRequest request, [FromServices] IAgentStore store, [FromServices] AgentCatalog shipped, [FromServices] AgentChecks checks, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var stored = await store.GetAsync(name, version, cancellationToken);
        if (stored is null)
        {
            return NotFound($"No agent version {AgentLifecycle.Name(name, version)} is stored.");
        }
        if (AgentLifecycle.ShippedConflict(shipped, name, version) is { } conflict)
        {
            return TypedResults.Problem(conflict, title: "Agent name taken by a shipped agent", statusCode: StatusCodes.Status409Conflict);
        }
        // The deployment may have changed since the upload (a tool gone, a model no longer configured): a version that
        // would not be offered is not activated.
        var (agent, diagnostics) = Check(stored.Yaml, AgentLifecycle.Name(name, version), shipped, checks);
        if (agent is null)
        {
            return DoesNotLoad(diagnostics, StatusCodes.Status409Conflict, $"{AgentLifecycle.Name(name, version)} does not load or check on this deployment; store a corrected version.");
        }
        try
        {
            return TypedResults.Json(View(await store.ActivateAsync(name, version, HttpCaller.Principal(request), reason!, cancellationToken)), AgenticJson.Options);
        }
        catch (AgentNotFoundException ex)
        {
            return NotFound(ex.Message);
        }
        catch (AgentConflictException ex)
        {
            return TypedResults.Problem(ex.Message, title: "Activation refused", statusCode: StatusCodes.Status409Conflict);
        }
    }

    /// <summary><c>POST /api/agents/{name}/deactivate</c>: takes the uploaded agent out of the offer (409 when no uploaded version of it is active).</summary>
    public static async Task<IResult> DeactivateAsync(string name, HttpRequest request, [FromServices] IAgentStore store, [FromServices] AgentCatalog shipped, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shipped);
        var (reason, problem) = await ReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var active = await store.DeactivateAsync(name, HttpCaller.Principal(request), reason!, cancellationToken);
        if (active is null)
        {
            var detail = shipped.Contains(name)
                ? $"No uploaded version of '{name}' is active; '{name}' is shipped with the deployment, which a deactivation does not change (a kill switch stops its runs)."
                : $"No uploaded version of '{name}' is active.";
            return TypedResults.Problem(detail, title: "Agent not active", statusCode: StatusCodes.Status409Conflict);
        }
        return TypedResults.Json(View(active), AgenticJson.Options);
    }

    // A signal as its agent declares it, with its data contract's file and hash.
    private static Dictionary<string, object?> Signal(SignalSource signal)
    {
        var view = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["kind"] = signal.Kind,
            ["name"] = signal.Name,
            ["trusted"] = signal.Trusted,
        };
        switch (signal)
        {
            case HttpProbeSource probe:
                view["path"] = probe.Path;
                view["timeoutSeconds"] = probe.Timeout.TotalSeconds;
                if (probe.Extract is { Count: > 0 } extract)
                {
                    view["extract"] = extract.ToDictionary(e => e.Name, e => e.Path.Text, StringComparer.Ordinal);
                }
                break;
            case QueueDepthSource queue:
                view["queue"] = queue.Queue;
                break;
            case TableCountSource table:
                view["table"] = table.Table;
                view["filter"] = table.Filter;
                view["max"] = table.Max;
                break;
            case RequestSource request:
                view["path"] = request.Path;
                break;
        }
        if (signal.Contract is { } contract)
        {
            view["schema"] = new { path = contract.Path, hash = contract.Hash };
        }
        return view;
    }

    /// <summary>503 problem for a catalog that can not be read now: nothing is answered or admitted on a guess.</summary>
    public static ProblemHttpResult Unavailable() =>
        TypedResults.Problem("The agents offered can not be read from the agent store right now; try again.", title: "Agent catalog unavailable", statusCode: StatusCodes.Status503ServiceUnavailable);

    // Loads the text and checks it against the deployment: the definition, or every diagnostic.
    // An upload's data contracts are the deployment's own (the shipped agents' schemas, or those beside the configured agents).
    private static (AgentDefinition? Agent, IReadOnlyList<Diagnostic> Diagnostics) Check(string yaml, string file, AgentCatalog shipped, AgentChecks checks)
    {
        AgentDefinition agent;
        try
        {
            agent = AgentLoader.Load(yaml, file, readFile: shipped.Files);
        }
        catch (AgentLoadException ex)
        {
            return (null, ex.Diagnostics);
        }
        var problems = checks.Check([agent]);
        return problems.Count == 0 ? (agent, []) : (null, problems);
    }

    private static ProblemHttpResult DoesNotLoad(IReadOnlyList<Diagnostic> diagnostics, int status, string detail) =>
        TypedResults.Problem(detail, title: "Agent does not load", statusCode: status,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = diagnostics.Select(d => new { field = BodyFile, line = d.Line, column = d.Column, code = d.Code, message = d.Message }).ToArray(),
            });

    private static object View(ActiveAgentSet set) => new { set.Sequence, agents = set.Agents.Select(View) };

    private static object View(AgentSlot slot) => new { slot.Name, slot.Version, slot.ContentHash, slot.ActivatedBy, slot.ActivatedAt, slot.Reason };

    private static async Task<(string? Reason, IResult? Problem)> ReasonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (Refusal(request, admin: true) is { } refused)
        {
            return (null, refused);
        }
        var body = await HttpCaller.ReadBodyAsync(request, MaxJsonBytes, cancellationToken);
        if (body is null)
        {
            return (null, HttpCaller.Problem("Request body too large", $"The body exceeds {MaxJsonBytes} bytes.", [new("$", $"At most {MaxJsonBytes} bytes are accepted.")]));
        }
        if (body.Length == 0)
        {
            return (null, HttpCaller.Problem("Request body required", "The body is empty; send a JSON object.", [new("$", "The body is empty; send a JSON object.")]));
        }
        PoliciesApi.ReasonBody? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<PoliciesApi.ReasonBody>(body, AgenticJson.Strict);
        }
        catch (JsonException ex)
        {
            return (null, HttpCaller.Problem("Malformed JSON", "The body is not the JSON object expected.", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]));
        }
        InputError? error = parsed is null ? new("$", "The body is JSON null; send a JSON object.")
            : string.IsNullOrWhiteSpace(parsed.Reason) ? new("reason", "Required: why; it is recorded in the agent history and the audit.")
            : parsed.Reason.Length > AgentLifecycle.MaxReasonLength ? new("reason", $"At most {AgentLifecycle.MaxReasonLength} characters.")
            : null;
        return error is not null
            ? (null, HttpCaller.Problem("Invalid request", "The change can not be accepted.", [error]))
            : (parsed!.Reason!.Trim(), null);
    }

    /// <summary>401 for an unauthenticated caller; 403 for a reader without a role, or a change by a caller without the admin role.</summary>
    private static ProblemHttpResult? Refusal(HttpRequest request, bool admin) => admin
        ? HttpCaller.Refusal(request, "agent changes", AgenticRoles.Admin)
        : HttpCaller.Refusal(request, "reading the agent catalog", [.. AgenticRoles.All]);

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, title: "Agent not found", statusCode: StatusCodes.Status404NotFound);
}
