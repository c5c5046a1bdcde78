using Agentic.Core.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Agentic.Runtime.Http;

/// <summary>What every route reads from a request the same way: the caller's identity, a bounded body, and 400 problems.</summary>
internal static class HttpCaller
{
    /// <summary>The caller named by <see cref="RunsApi.PrincipalHeader"/>, or <c>anonymous</c>.</summary>
    public static string Principal(HttpRequest request) =>
        request.Headers[RunsApi.PrincipalHeader].FirstOrDefault() is { Length: > 0 and <= 256 } p && !string.IsNullOrWhiteSpace(p) ? p.Trim() : ApprovalRules.Anonymous;

    /// <summary>The caller's roles from <see cref="RunsApi.RolesHeader"/> (comma-separated).</summary>
    public static string[] Roles(HttpRequest request) =>
        (request.Headers[RunsApi.RolesHeader].FirstOrDefault() ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Reads at most <paramref name="maxBytes"/>; <c>null</c> if the body is larger.</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>400 problem+json with an <c>errors</c> list naming each field.</summary>
    public static ProblemHttpResult Problem(string title, string detail, IReadOnlyList<InputError> errors) =>
        TypedResults.Problem(detail, title: title, statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { field = e.Field, message = e.Message }).ToArray() });
}
