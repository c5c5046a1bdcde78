using System.Diagnostics.CodeAnalysis;
using Agentic.Core.Secrets;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// A header value made from one secret: either just the secret's name (<c>fleet-token</c>: the value is the secret) or
/// a template naming it once in braces (<c>Bearer {fleet-token}</c>).
/// </summary>
internal sealed class SecretTemplate
{
    private readonly string _prefix;
    private readonly string _suffix;

    private SecretTemplate(string secret, string prefix, string suffix)
    {
        Secret = secret;
        _prefix = prefix;
        _suffix = suffix;
    }

    /// <summary>The secret's name.</summary>
    public string Secret { get; }

    public static SecretTemplate Parse(string value) =>
        TryParse(value, out var template, out var error) ? template : throw new ArgumentException(error, nameof(value));

    public static bool TryParse(string? value, [NotNullWhen(true)] out SecretTemplate? template, [NotNullWhen(false)] out string? error)
    {
        template = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "a secret name or a template like 'Bearer {name}' is required.";
            return false;
        }
        var open = value.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            if (!SecretName.IsValid(value))
            {
                error = $"'{value}' is not a valid secret name (1 to 127 letters, digits or '-').";
                return false;
            }
            template = new(value, "", "");
            error = null;
            return true;
        }
        var close = value.IndexOf('}', open);
        var name = close < 0 ? "" : value[(open + 1)..close];
        if (close < 0 || !SecretName.IsValid(name) || value.IndexOfAny(['{', '}'], close + 1) >= 0 || value[..open].Contains('}', StringComparison.Ordinal))
        {
            error = $"'{value}' must name exactly one secret in braces, like 'Bearer {{name}}'.";
            return false;
        }
        if (value.Any(char.IsControl))
        {
            error = "a header template can not contain control characters.";
            return false;
        }
        template = new(name, value[..open], value[(close + 1)..]);
        error = null;
        return true;
    }

    /// <summary>The header value with <paramref name="secretValue"/> in place.</summary>
    public string Render(string secretValue) => _prefix + secretValue + _suffix;
}

/// <summary>Header name rules shared by the built-in HTTP tools.</summary>
internal static class HttpHeaderName
{
    // Framing and routing are the client's: letting a caller set them would let it smuggle a second request or reroute this one.
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive", "Proxy-Connection", "Expect",
    };

    public static bool IsReserved(string name) => Reserved.Contains(name);

    // RFC 9110 token characters.
    public static bool IsValid([NotNullWhen(true)] string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 256 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));
}
