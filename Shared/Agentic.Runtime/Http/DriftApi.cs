using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Agentic.Core.Runs;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Agentic.Runtime.Http;

/// <summary>
/// <c>GET /api/agents/{name}/drift?window=1h|24h|7d|30d&amp;bucket=1m|5m|15m|1h|6h|1d</c>: an agent's planning drift, per
/// planner origin (planner kind, prompt id and version or playbook version, agent version, model): plan rounds, counts of
/// each drift kind per time bucket and in total, each kind's rate against the plan rounds, and the newest examples (run,
/// step, reason). Operators and admins only (401 or 403 problem+json for anyone else); 404 for an agent the deployment
/// does not have; 400 naming the parameter for a window or bucket it does not answer.
/// </summary>
public static class DriftApi
{
    /// <summary>Maps <c>GET /api/agents/{name}/drift</c>.</summary>
    public static IEndpointRouteBuilder MapAgenticDrift(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/agents/{name}/drift", GetAsync).WithTags("Catalog")
            .Describe("Read an agent's planning drift", "Plan rounds and each drift kind per time bucket, in total and as a rate, per planner, prompt or playbook version and model (?window=1h|24h|7d|30d&bucket=1m|5m|15m|1h|6h|1d).")
            .Refusals(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    // The handler is public so that the Functions app's trigger calls the same code as this route.

    /// <summary><c>GET /api/agents/{name}/drift</c>: the agent's drift over the window, in buckets, from the drift store.</summary>
    public static async Task<IResult> GetAsync(string name, HttpRequest request, [FromServices] IAgentCatalogProvider agents, [FromServices] IDriftStore drift, [FromServices] TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(drift);
        ArgumentNullException.ThrowIfNull(clock);
        if (HttpCaller.Refusal(request, "reading an agent's drift", AgenticRoles.Operator, AgenticRoles.Admin) is { } refused)
        {
            return refused;
        }
        AgentCatalog offered;
        try
        {
            offered = await agents.GetAsync(cancellationToken);
        }
        catch (AgentCatalogUnavailableException)
        {
            return AgentsApi.Unavailable();
        }
        if (!offered.Contains(name))
        {
            return TypedResults.Problem($"No agent named '{name}' is offered. Agents: {string.Join(", ", offered.Names)}.", title: "Unknown agent", statusCode: StatusCodes.Status404NotFound);
        }
        string window, bucket;
        try
        {
            (window, bucket) = Parse(request.Query);
        }
        catch (InputException ex)
        {
            return HttpCaller.Problem(ex.Title, ex.Message, ex.Errors);
        }
        var now = clock.GetUtcNow();
        var events = await drift.ListAsync(name, now - DriftWindows.Windows[window], now, cancellationToken);
        return TypedResults.Json(DriftReport.Build(name, events, now, window, bucket), AgenticJson.Options);
    }

    private static (string Window, string Bucket) Parse(IQueryCollection query)
    {
        var errors = new List<InputError>();
        var window = One(query, "window", DriftWindows.DefaultWindow, DriftWindows.Windows.Keys, errors);
        var bucket = One(query, "bucket", window is null ? null : DriftWindows.DefaultBucket(window), DriftWindows.Buckets.Keys, errors);
        if (window is not null && bucket is not null && DriftWindows.Refusal(window, bucket) is { } refusal)
        {
            errors.Add(new("bucket", refusal));
        }
        return errors.Count > 0 ? throw new InputException("Invalid drift query", errors) : (window!, bucket!);
    }

    private static string? One(IQueryCollection query, string name, string? fallback, IEnumerable<string> known, List<InputError> errors)
    {
        var values = query[name];
        if (values.Count == 0)
        {
            return fallback;
        }
        if (values.Count > 1)
        {
            errors.Add(new(name, "Give it once."));
            return null;
        }
        if (!known.Contains(values[0], StringComparer.Ordinal))
        {
            errors.Add(new(name, $"'{values[0]}' is not one of {string.Join(", ", known)}."));
            return null;
        }
        return values[0];
    }
}
