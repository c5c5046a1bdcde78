using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Agentic.Runtime.Http.Identity;

/// <summary>
/// What every API request passes before its handler, in both hosts: authentication (<see cref="AgenticAuthentication"/>),
/// then the body's media type. A body must be labelled <c>application/json</c> (or a <c>+json</c> type), or YAML on the
/// two routes that take a policy's text: the types a browser may send cross-site without asking first
/// (<c>text/plain</c>, form posts) are refused with 415, so no page can post to the API on a user's behalf.
/// </summary>
public static class RequestGuard
{
    /// <summary>The YAML media types the policy routes take.</summary>
    public static IReadOnlyList<string> YamlTypes { get; } = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

    private static readonly string[] YamlRoutes = ["/api/policies", "/api/policies/simulate", "/api/agents"];

    /// <summary><c>null</c> when the request may reach its handler, else the answer (401, 415).</summary>
    public static async Task<IResult?> CheckAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (await AgenticAuthentication.AuthenticateAsync(context) is { } unauthenticated)
        {
            return unauthenticated;
        }
        return MediaTypeProblem(context.Request);
    }

    /// <summary>Guards every <c>/api</c> request of the local host.</summary>
    public static IApplicationBuilder UseAgenticRequestGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) && await CheckAsync(context) is { } refused)
            {
                await refused.ExecuteAsync(context);
                return;
            }
            await next(context);
        });

    private static ProblemHttpResult? MediaTypeProblem(HttpRequest request)
    {
        var hasBody = request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0 || request.ContentType is not null;
        if (!hasBody || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            return null;
        }
        var mediaType = (request.ContentType ?? "").Split(';')[0].Trim();
        var yaml = YamlRoutes.Any(r => request.Path.Equals(r, StringComparison.OrdinalIgnoreCase));
        if (IsJson(mediaType) || (yaml && YamlTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase)))
        {
            return null;
        }
        var expected = yaml ? string.Join(" or ", YamlTypes.Take(1).Prepend("application/json")) : "application/json";
        return TypedResults.Problem($"Send the body as {expected}; '{(mediaType.Length == 0 ? "no content type" : mediaType)}' is not accepted.",
            title: "Unsupported media type", statusCode: StatusCodes.Status415UnsupportedMediaType);
    }

    private static bool IsJson(string mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
