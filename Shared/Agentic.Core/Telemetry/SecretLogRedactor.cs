using Microsoft.Extensions.Configuration;
using ProductRedactor = Agentic.Core.Tools.Builtin.Redactor;

namespace Agentic.Core.Telemetry;

/// <summary>
/// The log redactor of <see cref="AgenticTaxonomy.Secret"/>: the product's own <see cref="ProductRedactor"/> (every
/// spelling of a value: exact, any case, base64, base64url, URL- and JSON-escaped) over the secret values this process
/// holds, the configured <c>Agentic:Secrets:*</c> and every value the tool executor resolved (Key Vault's included,
/// <see cref="KnownSecrets"/>). Text without one of them is logged as is, so an error stays useful.
/// </summary>
/// <remarks>
/// The tool executor already takes a call's secrets out of its outcome and errors; this covers what does not pass
/// through it (a store's or a service's exception message, a caller's reason) on its way into a log.
/// </remarks>
public sealed class SecretLogRedactor : Microsoft.Extensions.Compliance.Redaction.Redactor
{
    private readonly string[] _configured;
    private Built? _current;

    /// <summary>A redactor over the secrets configured in <paramref name="configuration"/> and those resolved later.</summary>
    public SecretLogRedactor(IConfiguration? configuration = null)
    {
        _configured = configuration?.GetSection("Agentic:Secrets").GetChildren().Select(c => c.Value).OfType<string>().ToArray() ?? [];
    }

    /// <inheritdoc />
    public override int GetRedactedLength(ReadOnlySpan<char> input) => Redacted(input).Length;

    /// <inheritdoc />
    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        var redacted = Redacted(source);
        redacted.AsSpan().CopyTo(destination);
        return redacted.Length;
    }

    private string Redacted(ReadOnlySpan<char> source)
    {
        var text = source.ToString();
        var redactor = Current();
        return redactor.IsEmpty ? text : redactor.Redact(text);
    }

    // Rebuilt only when the executor has seen a secret it had not seen before.
    private ProductRedactor Current()
    {
        var version = KnownSecrets.Version;
        if (Volatile.Read(ref _current) is { } current && current.Version == version)
        {
            return current.Redactor;
        }
        var redactor = new ProductRedactor(_configured.Concat(KnownSecrets.Values));
        Volatile.Write(ref _current, new Built(version, redactor));
        return redactor;
    }

    private sealed record Built(int Version, ProductRedactor Redactor);
}

/// <summary>
/// The secret values the tool executor resolved in this process, so the log redactor can take them out of text that
/// never passed through the executor. Kept in memory only, as the executor's own copies are.
/// </summary>
public static class KnownSecrets
{
    private static readonly Lock Gate = new();
    private static string[] _values = [];
    private static int _version;

    /// <summary>Changes whenever a value is added.</summary>
    public static int Version => Volatile.Read(ref _version);

    /// <summary>The values seen so far.</summary>
    public static IReadOnlyList<string> Values => Volatile.Read(ref _values);

    /// <summary>Adds <paramref name="values"/> (a no-op for values already known).</summary>
    public static void Remember(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        lock (Gate)
        {
            var added = values.Where(v => !string.IsNullOrEmpty(v) && !_values.Contains(v, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToArray();
            if (added.Length > 0)
            {
                Volatile.Write(ref _values, [.. _values, .. added]);
                Interlocked.Increment(ref _version);
            }
        }
    }
}
