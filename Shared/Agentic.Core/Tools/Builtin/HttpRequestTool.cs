using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// <c>http.request</c>: one HTTP call to an endpoint the <see cref="EgressPolicy"/> allows. Every hop (the request and
/// up to <see cref="MaxRedirects"/> redirects, followed here, never by the handler) must match an egress rule, and the
/// connection is refused when the host resolves to a private or metadata address the rule does not allow. Secret
/// headers are set from the rule at call time and their values are redacted from everything returned or reported.
/// </summary>
public sealed class HttpRequestTool : ITool
{
    /// <summary>The tool's name.</summary>
    public const string Name = "http.request";

    /// <summary>How many redirects a call follows.</summary>
    public const int MaxRedirects = 5;

    /// <summary>Arguments: method, absolute http(s) URL, optional string headers, optional JSON body. Nothing else.</summary>
    public const string InputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "method": { "type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] },
            "url": { "type": "string", "minLength": 8, "maxLength": 2048, "pattern": "^https?://" },
            "headers": {
              "type": "object",
              "maxProperties": 32,
              "additionalProperties": { "type": "string", "maxLength": 4096 }
            },
            "body": {}
          },
          "required": ["method", "url"],
          "additionalProperties": false
        }
        """;

    /// <summary>Output: the status, a safe subset of the response headers, the body (JSON when it is JSON, else text), whether it was cut.</summary>
    public const string OutputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "status": { "type": "integer", "minimum": 100, "maximum": 599 },
            "headers": {
              "type": "object",
              "properties": {
                "content-type": { "type": "string" },
                "content-length": { "type": "string" },
                "location": { "type": "string" }
              },
              "additionalProperties": false
            },
            "body": {},
            "truncated": { "type": "boolean" }
          },
          "required": ["status", "headers", "body"],
          "additionalProperties": false
        }
        """;

    // Room the output's envelope (status, headers, member names) needs besides the body.
    private const int EnvelopeBytes = 2048;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Dictionary<string, SecretTemplate> EmptySecretHeaders = [];

    private static readonly HashSet<string> OriginBound = new(StringComparer.OrdinalIgnoreCase) { "Authorization", "Cookie", "Proxy-Authorization" };

    private readonly EgressPolicy _policy;
    private readonly EgressClient _client;
    private readonly HashSet<string> _secretHeaders;

    /// <summary>The tool over <paramref name="policy"/>, connecting through <paramref name="client"/>.</summary>
    public HttpRequestTool(EgressPolicy policy, EgressClient client)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(client);
        _policy = policy;
        _client = client;
        _secretHeaders = new(policy.SecretHeaderNames, StringComparer.OrdinalIgnoreCase);
        Descriptor = new(Name, "1.0.0",
            "Calls an HTTP endpoint that the egress allowlist (Agentic:Egress:Allow) permits; follows up to 5 redirects, each checked against it.",
            RiskLevel.Medium, SideEffect.Irreversible, Idempotent: false, TimeSpan.FromSeconds(30), 64 * 1024)
        {
            InputSchema = InputSchema,
            OutputSchema = OutputSchema,
            Secrets = policy.SecretNames.Count == 0 ? null : policy.SecretNames,
            Tags = ["network"],
        };
    }

    /// <inheritdoc />
    public ToolDescriptor Descriptor { get; }

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var redactor = new Redactor(invocation.Secrets.Values);
        var args = Arguments.Parse(invocation.Arguments);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Descriptor.Timeout);
        try
        {
            return await SendAsync(args, invocation, redactor, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{Name} timed out after {Descriptor.Timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (ToolException ex)
        {
            // Whatever a service or a handler put in a message, a secret value never leaves in it.
            var message = redactor.Redact(ex.Message);
            throw message == ex.Message ? ex : new ToolException(message, ex.Retryable);
        }
    }

    private async Task<ToolOutcome> SendAsync(Arguments args, ToolCall call, Redactor redactor, CancellationToken cancellationToken)
    {
        var method = args.Method;
        var uri = args.Url;
        var body = args.Body;
        for (var hop = 0; ; hop++)
        {
            // A redirect's query string may carry a token: errors name scheme, host, port and path only.
            var context = hop == 0 ? $"{Name} refused {method} {Show(uri)}" : $"{Name} refused the redirect to {Show(uri)}";
            var grant = _policy.Authorize(method, uri, context);
            // Credentials, the arguments' and the rules' secrets alike, go to the origin they were written for, not to
            // wherever it redirects: another scheme, host or port gets none.
            var sameOrigin = hop == 0 || SameOrigin(uri, args.Url);
            var headers = sameOrigin ? args.Headers : [.. args.Headers.Where(h => !OriginBound.Contains(h.Key))];
            using var request = BuildRequest(method, uri, body, headers, grant, call, firstHop: hop == 0, withSecrets: sameOrigin);
            HttpResponseMessage sent;
            try
            {
                sent = await _client.SendAsync(request, grant.AllowPrivate, cancellationToken);
            }
            catch (ToolException ex)
            {
                throw new ToolException(ex.Retryable ? $"{Name}: {ex.Message}" : $"{context}: {ex.Message}.", ex.Retryable, ex);
            }
            using var response = sent;
            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                if (hop == MaxRedirects)
                {
                    throw new ToolException($"{Name}: {method} {Show(args.Url)} redirected more than {MaxRedirects} times.", retryable: false);
                }
                uri = new Uri(uri, location);
                // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without the body.
                if ((status == 303 && method != "HEAD") || (status is 301 or 302 && method == "POST"))
                {
                    method = "GET";
                    body = null;
                }
                continue;
            }
            return await ReadAsync(method, uri, response, redactor, cancellationToken);
        }
    }

    internal static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private HttpRequestMessage BuildRequest(
        string method, Uri uri, JsonElement? body, IReadOnlyList<KeyValuePair<string, string>> headers, EgressPolicy.Grant grant, ToolCall call, bool firstHop, bool withSecrets)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), uri);
        try
        {
            if (body is { } json)
            {
                request.Content = new StringContent(json.GetRawText(), Encoding.UTF8, "application/json");
            }
            foreach (var (name, value) in headers)
            {
                if (_secretHeaders.Contains(name))
                {
                    throw Refused($"the header '{name}' is set by the egress policy from a secret and can not be given in arguments");
                }
                bool added;
                if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                {
                    if (request.Content is null && !firstHop)
                    {
                        // A redirect that turned the request into a GET dropped the body, and its headers with it.
                        continue;
                    }
                    var content = request.Content ?? throw Refused($"the header '{name}' needs a body");
                    content.Headers.Remove(name);
                    added = content.Headers.TryAddWithoutValidation(name, value);
                }
                else
                {
                    added = request.Headers.TryAddWithoutValidation(name, value);
                }
                if (!added)
                {
                    throw Refused($"the header '{name}' can not be set on this request");
                }
            }
            if (withSecrets && grant.SecretHeaders.Count > 0 && uri.Scheme != Uri.UriSchemeHttps && !grant.AllowSecretsOverHttp)
            {
                throw Refused($"the egress rule for {Endpoint.Origin(uri)} sets secret headers, which are not sent over plain http unless the rule allows it (AllowSecretsOverHttp)");
            }
            foreach (var (name, template) in withSecrets ? grant.SecretHeaders : EmptySecretHeaders)
            {
                if (!call.Secrets.TryGetValue(template.Secret, out var secret))
                {
                    throw new ToolException($"{Name} was not given the secret '{template.Secret}' its egress rule needs; call it through the tool executor.", retryable: false);
                }
                if (secret.Any(char.IsControl))
                {
                    throw new ToolException($"The secret '{template.Secret}' contains control characters and can not be sent as the header '{name}'.", retryable: false);
                }
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, template.Render(secret));
            }
            return request;
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    private async Task<ToolOutcome> ReadAsync(string method, Uri uri, HttpResponseMessage response, Redactor redactor, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            // The status, a digest and a short sanitized reason; never the body, which may carry anything.
            var failure = await HttpBodies.DescribeFailureAsync(response, cancellationToken);
            throw new ToolException($"{Name}: {method} {Show(uri)} {failure}", HttpBodies.IsRetryable(response.StatusCode));
        }
        var budget = Math.Max(0, Descriptor.MaxOutputBytes - EnvelopeBytes);
        // Read a little past the budget: a secret cut in half at the budget's edge would escape redaction.
        var (text, more) = method == "HEAD" ? ("", false) : await ReadTextAsync(response.Content, budget + (redactor.Longest * 4), cancellationToken);
        text = redactor.Redact(text);
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (response.Content.Headers.ContentType is { } type)
        {
            headers["content-type"] = redactor.Redact(type.ToString());
        }
        if (response.Content.Headers.ContentLength is { } length)
        {
            headers["content-length"] = length.ToString(CultureInfo.InvariantCulture);
        }
        if (response.Headers.Location is { } location)
        {
            headers["location"] = redactor.Redact(location.OriginalString);
        }
        JsonNode? json = null;
        if (!more && text.Length > 0 && IsJson(response.Content.Headers.ContentType))
        {
            try
            {
                json = redactor.Redact(JsonNode.Parse(text));
            }
            catch (Exception ex) when (ex is JsonException or ArgumentException)
            {
                json = null;
            }
        }
        var output = Write(status, headers, json, json is null ? text : null, more);
        if (json is not null && output.Length > Descriptor.MaxOutputBytes)
        {
            json = null;
            more = true;
        }
        // Escaping can make text longer than its bytes: cut until the whole output fits.
        var keep = more ? Math.Min(text.Length, budget) : text.Length;
        while (json is null && (output = Write(status, headers, null, Cut(text, keep), more || keep < text.Length)).Length > Descriptor.MaxOutputBytes)
        {
            keep = Math.Max(0, keep - Math.Max(16, output.Length - Descriptor.MaxOutputBytes));
        }
        using var document = JsonDocument.Parse(output);
        return new ToolOutcome(status, $"{method} {Show(uri)} answered {status}", document.RootElement.Clone());
    }

    private static string Cut(string text, int keep)
    {
        if (keep >= text.Length)
        {
            return text;
        }
        return keep > 0 && char.IsHighSurrogate(text[keep - 1]) ? text[..(keep - 1)] : text[..keep];
    }

    private static byte[] Write(int status, SortedDictionary<string, string> headers, JsonNode? json, string? text, bool truncated)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("status", status);
            writer.WriteStartObject("headers");
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
            writer.WritePropertyName("body");
            if (json is not null)
            {
                json.WriteTo(writer);
            }
            else
            {
                writer.WriteStringValue(text);
            }
            if (truncated)
            {
                writer.WriteBoolean("truncated", true);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    internal static async Task<(string Text, bool More)> ReadTextAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        var (buffer, length, more) = await HttpBodies.ReadCappedAsync(content, maxBytes, cancellationToken);
        return (Encoding.UTF8.GetString(buffer, 0, length), more);
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    // Scheme, host, port and path: enough to say where, without a query string that may carry a token.
    private static string Show(Uri uri) => uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.OriginalString;

    private static ToolException Refused(string reason) => new($"{Name} refused the request: {reason}.", retryable: false);

    private sealed record Arguments(string Method, Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers, JsonElement? Body)
    {
        public static Arguments Parse(JsonElement args)
        {
            if (args.ValueKind != JsonValueKind.Object)
            {
                throw Refused("the arguments must be an object");
            }
            var method = args.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : throw Refused("'method' is required");
            if (!EgressPolicy.SupportedMethods.Contains(method))
            {
                throw Refused($"'{method}' is not one of {string.Join(", ", EgressPolicy.SupportedMethods)}");
            }
            var url = args.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : throw Refused("'url' is required");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw Refused("'url' must be an absolute http or https URL");
            }
            var headers = new List<KeyValuePair<string, string>>();
            if (args.TryGetProperty("headers", out var h) && h.ValueKind != JsonValueKind.Null)
            {
                if (h.ValueKind != JsonValueKind.Object)
                {
                    throw Refused("'headers' must be an object of strings");
                }
                foreach (var header in h.EnumerateObject())
                {
                    if (!HttpHeaderName.IsValid(header.Name))
                    {
                        throw Refused($"'{header.Name}' is not a header name");
                    }
                    if (HttpHeaderName.IsReserved(header.Name))
                    {
                        throw Refused($"the header '{header.Name}' can not be set");
                    }
                    if (header.Value.ValueKind != JsonValueKind.String || header.Value.GetString()!.Any(char.IsControl))
                    {
                        throw Refused($"the header '{header.Name}' must be a string without control characters");
                    }
                    headers.Add(new(header.Name, header.Value.GetString()!));
                }
            }
            JsonElement? body = args.TryGetProperty("body", out var b) && b.ValueKind != JsonValueKind.Null ? b : null;
            if (body is not null && method is "GET" or "HEAD")
            {
                throw Refused($"a {method} request carries no body");
            }
            return new(method, uri, headers, body);
        }
    }
}
