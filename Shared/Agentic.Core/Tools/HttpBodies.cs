using System.Globalization;
using System.Net;
using System.Text;
using Agentic.Core.Json;

namespace Agentic.Core.Tools;

/// <summary>
/// Reading response bodies with a byte cap, and describing a failed response without echoing its body: a service's
/// error page may carry anything (another tenant's data, a storage listing, a reflected secret), so an error names the
/// status, a digest of what was read and at most a short sanitized reason phrase.
/// </summary>
internal static class HttpBodies
{
    /// <summary>How much of an error body is read to digest it.</summary>
    public const int ErrorDigestBytes = 4 * 1024;

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> bytes of <paramref name="content"/> into one buffer of that size (plus one
    /// byte to tell whether more followed); the rest is never read.
    /// </summary>
    public static async Task<(byte[] Buffer, int Length, bool More)> ReadCappedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } declared && declared <= maxBytes)
        {
            maxBytes = (int)declared;
        }
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        return (buffer, Math.Min(total, maxBytes), total > maxBytes);
    }

    /// <summary>
    /// <c>answered 503 Service Unavailable (body sha256:0123456789ab, 120 bytes)</c>: the status, a sanitized reason
    /// phrase and a digest of the start of the body, never the body.
    /// </summary>
    public static async Task<string> DescribeFailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var (buffer, length, more) = await ReadCappedAsync(response.Content, ErrorDigestBytes, cancellationToken);
        var size = more ? $"first {length} bytes" : string.Create(CultureInfo.InvariantCulture, $"{length} bytes");
        var body = length == 0 ? "no body" : $"body {AgenticJson.ShortDigest(AgenticJson.Digest(buffer.AsSpan(0, length)))}, {size}";
        var reason = Sanitize(response.ReasonPhrase);
        return string.Create(CultureInfo.InvariantCulture, $"answered {(int)response.StatusCode}{(reason.Length > 0 ? " " + reason : "")} ({body})");
    }

    /// <summary>Whether a failed status is worth retrying: 5xx, 429 and 408.</summary>
    public static bool IsRetryable(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;

    // Letters, digits, spaces and hyphens, at most 40 characters: enough for "Service Unavailable", too little to smuggle data.
    private static string Sanitize(string? reason)
    {
        if (string.IsNullOrEmpty(reason))
        {
            return "";
        }
        var kept = new StringBuilder(Math.Min(reason.Length, 40));
        foreach (var c in reason)
        {
            if (kept.Length == 40)
            {
                break;
            }
            kept.Append(char.IsAsciiLetterOrDigit(c) || c is ' ' or '-' ? c : '_');
        }
        return kept.ToString().Trim();
    }
}
