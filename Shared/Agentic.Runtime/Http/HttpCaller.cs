using Agentic.Core.Runs;
using Agentic.Runtime.Http.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Http;

/// <summary>What every route reads from a request the same way: the caller's identity, a bounded body, and 400 problems.</summary>
public static class HttpCaller
{
    /// <summary>The verified caller's principal id (<c>anonymous</c> for a request no scheme authenticated).</summary>
    public static string Principal(HttpRequest request) => Caller.Of(request.HttpContext).Id;

    /// <summary>The verified caller's roles.</summary>
    public static string[] Roles(HttpRequest request) => [.. Caller.Of(request.HttpContext).Roles];

    /// <summary>
    /// <c>null</c> when the verified caller holds one of <paramref name="roles"/>; else 401 for an unauthenticated request
    /// (a handler reached without <see cref="RequestGuard"/>) or 403 naming the roles <paramref name="action"/> needs.
    /// </summary>
    public static ProblemHttpResult? Refusal(HttpRequest request, string action, params string[] roles)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = Caller.Of(request.HttpContext);
        string? reason = null;
        ProblemHttpResult? problem = null;
        if (!caller.IsAuthenticated)
        {
            reason = "not authenticated";
            problem = TypedResults.Problem($"{Capitalize(action)} needs an authenticated caller.", title: "Authentication required", statusCode: StatusCodes.Status401Unauthorized);
        }
        else if (!caller.HasAny(roles))
        {
            var needed = roles.Length == 1 ? $"the role '{roles[0]}'" : "one of the roles " + string.Join(", ", roles.Select(r => $"'{r}'"));
            reason = $"{action} needs {needed}";
            problem = TypedResults.Problem($"{Capitalize(action)} needs {needed}; {caller.Id} holds {(caller.Roles.Count == 0 ? "no role" : string.Join(", ", caller.Roles))}.",
                title: "Role required", statusCode: StatusCodes.Status403Forbidden);
        }
        if (problem is not null)
        {
            request.HttpContext.RequestServices?.GetService<ILoggerFactory>()?.CreateLogger(typeof(HttpCaller).FullName!)
                .AccessRefused(request.Method, request.Path.Value ?? "", caller.Id, reason!);
        }
        return problem;
    }

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

    /// <summary>The error for a body over <paramref name="maxBytes"/>, as every route reports it.</summary>
    public static InputException TooLarge(int maxBytes) =>
        new("Request body too large", [new("$", $"At most {maxBytes} bytes are accepted.")]);

    /// <summary>400 problem+json with an <c>errors</c> list naming each field.</summary>
    public static ProblemHttpResult Problem(string title, string detail, IReadOnlyList<InputError> errors) =>
        TypedResults.Problem(detail, title: title, statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { field = e.Field, message = e.Message }).ToArray() });

    /// <summary>
    /// Reads a YAML document body (<see cref="RequestGuard.YamlTypes"/>, at most <paramref name="maxBytes"/> of UTF-8 and
    /// <paramref name="maxChars"/> characters, not blank): the text, or the problem to answer (415, or 400 naming the body).
    /// <paramref name="what"/> names the document in messages ("policy", "agent").
    /// </summary>
    public static async Task<(string? Yaml, IResult? Problem)> ReadYamlAsync(HttpRequest request, int maxBytes, int maxChars, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var mediaType = (request.ContentType ?? "").Split(';')[0].Trim();
        if (!RequestGuard.YamlTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return (null, TypedResults.Problem($"Send the {what}'s YAML text as {RequestGuard.YamlTypes[0]}; '{(mediaType.Length == 0 ? "no content type" : mediaType)}' is not accepted.",
                title: "Unsupported media type", statusCode: StatusCodes.Status415UnsupportedMediaType));
        }
        var body = await ReadBodyAsync(request, maxBytes, cancellationToken);
        if (body is null)
        {
            return (null, Problem("Request body too large", $"The body exceeds {maxBytes} bytes.", [new("$", $"At most {maxBytes} bytes are accepted.")]));
        }
        string yaml;
        try
        {
            yaml = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(body).TrimStart('\uFEFF');
        }
        catch (System.Text.DecoderFallbackException)
        {
            return (null, Problem($"Malformed {what}", "The body is not UTF-8 text.", [new("$", "The body must be UTF-8 text.")]));
        }
        if (string.IsNullOrWhiteSpace(yaml))
        {
            return (null, Problem("Request body required", $"The body is empty; send the {what}'s YAML text.", [new("$", "The body is empty.")]));
        }
        if (yaml.Length > maxChars)
        {
            return (null, Problem($"{Capitalize(what)} too large", $"A stored {what} holds at most {maxChars} characters; this one has {yaml.Length}.",
                [new("$", $"At most {maxChars} characters.")]));
        }
        return (yaml, null);
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
