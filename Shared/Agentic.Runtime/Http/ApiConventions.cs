using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Http;

/// <summary>
/// What every route of the API shares in both hosts: how it is described in the OpenAPI document, and the
/// <c>application/problem+json</c> answers the framework writes itself (an unknown route, a method a route does not
/// take, a refused host name, an unhandled failure), each with a specific title and detail like the handlers' own.
/// </summary>
public static class ApiConventions
{
    /// <summary>The route's summary and description in the OpenAPI document.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, string summary, string description) =>
        builder.WithSummary(summary).WithDescription(description);

    /// <summary>The problem answers a route gives: 401 and 403 (every route but health), and <paramref name="statuses"/>.</summary>
    public static RouteHandlerBuilder Refusals(this RouteHandlerBuilder builder, params int[] statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        foreach (var status in new[] { StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden }.Concat(statuses))
        {
            builder.ProducesProblem(status);
        }
        return builder;
    }

    /// <summary>
    /// Problem details for every answer the handlers do not write themselves. A handler's problem (it always has a
    /// detail) is left as it is.
    /// </summary>
    public static IServiceCollection AddAgenticProblemDetails(this IServiceCollection services) =>
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            if (problem.Detail is not null)
            {
                return;
            }
            var request = context.HttpContext.Request;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            var where = $"{request.Method} {request.Path}";
            (problem.Title, problem.Detail) = status switch
            {
                StatusCodes.Status404NotFound => ("Route not found", $"No route of this API answers {where}; GET /api/openapi.json describes every route."),
                StatusCodes.Status405MethodNotAllowed => ("Method not allowed",
                    $"{request.Path} does not take {request.Method}" + (context.HttpContext.Response.Headers.Allow is { Count: > 0 } allow ? $"; it takes {string.Join(", ", allow.ToArray())}." : ".")),
                StatusCodes.Status400BadRequest => ("Request refused",
                    "The request was refused before it reached the API: its Host header names a host this host does not serve (Agentic:AllowedHosts), or it is malformed."),
                StatusCodes.Status413PayloadTooLarge => ("Request body too large", "The body is larger than this host accepts."),
                StatusCodes.Status500InternalServerError => ("Internal error",
                    $"{where} failed on the server; the failure is logged with trace id {context.HttpContext.TraceIdentifier}, and nothing of it is shown here."),
                _ => (problem.Title ?? ReasonPhrases.GetReasonPhrase(status), $"{where} answered {status}."),
            };
        });
}
