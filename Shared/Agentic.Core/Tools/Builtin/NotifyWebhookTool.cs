using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agentic.Core.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// The webhook channels <c>notify.webhook</c> may post to, by name. Configuration (environment:
/// <c>Agentic__Notify__Channels__ops__Url</c>):
/// <code>
/// "Agentic": { "Notify": { "Channels": {
///   "ops": { "Url": "https://hooks.example.com/services/T0/B0", "SecretHeader": "Authorization", "Secret": "Bearer {ops-hook-token}", "AllowPrivate": false,
///            "AllowSecretsOverHttp": false } } } }
/// </code>
/// <c>Secret</c> is a secret name or a template naming one in braces, as in <see cref="EgressRule.SecretHeaders"/>.
/// </summary>
public sealed partial class NotifyOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Notify";

    /// <summary>The channels, by name (case-insensitive, like configuration keys).</summary>
    public IDictionary<string, NotifyChannel> Channels { get; } = new Dictionary<string, NotifyChannel>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Who hears of approval waits, escalations and timeouts.</summary>
    public ApprovalNotifyOptions Approvals { get; } = new();

    /// <summary>The options <paramref name="configuration"/> describes at <see cref="Section"/>.</summary>
    public static NotifyOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new NotifyOptions();
        configuration.GetSection(Section).Bind(options);
        return options;
    }

    /// <summary>Every problem with the channels, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var (name, channel) in Channels)
        {
            var path = $"{Section}:Channels:{name}";
            if (!ChannelName().IsMatch(name))
            {
                problems.Add($"{path}: '{name}' is not a channel name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit).");
            }
            if (!Uri.TryCreate(channel.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.UserInfo.Length > 0)
            {
                problems.Add($"{path}:Url: an absolute http or https URL without credentials is required.");
            }
            if (channel.Secret is null != channel.SecretHeader is null)
            {
                problems.Add($"{path}: set both SecretHeader and Secret, or neither.");
            }
            if (channel.SecretHeader is { } header && (!HttpHeaderName.IsValid(header) || HttpHeaderName.IsReserved(header)))
            {
                problems.Add($"{path}:SecretHeader: '{header}' is not a header that can be set.");
            }
            if (channel.Secret is not null && !SecretTemplate.TryParse(channel.Secret, out _, out var error))
            {
                problems.Add($"{path}:Secret: {error}");
            }
            if (channel.Secret is not null && url is { Scheme: "http" } && !channel.AllowSecretsOverHttp)
            {
                problems.Add($"{path}:Secret: secrets are not sent over plain http; use https, or set {path}:AllowSecretsOverHttp to true.");
            }
        }
        for (var i = 0; i < Approvals.Channels.Count; i++)
        {
            if (!Channels.ContainsKey(Approvals.Channels[i]))
            {
                problems.Add($"{Section}:Approvals:Channels:{i}: '{Approvals.Channels[i]}' is not a configured channel ({Section}:Channels:{Approvals.Channels[i]}:Url).");
            }
        }
        if (Approvals.InboxUrl is { } inbox
            && (!Uri.TryCreate(inbox, UriKind.Absolute, out var link) || (link.Scheme != Uri.UriSchemeHttp && link.Scheme != Uri.UriSchemeHttps) || link.UserInfo.Length > 0 || link.Query.Length > 0 || link.Fragment.Length > 0))
        {
            problems.Add($"{Section}:Approvals:InboxUrl: an absolute http or https URL without credentials, query or fragment is required (the dashboard's address).");
        }
        return problems;
    }

    internal static bool IsChannelName(string name) => ChannelName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ChannelName();
}

/// <summary>One webhook channel.</summary>
public sealed class NotifyChannel
{
    /// <summary>Where notifications are posted.</summary>
    public string Url { get; set; } = "";

    /// <summary>A header set from <see cref="Secret"/> (e.g. <c>Authorization</c>), if the hook needs one.</summary>
    public string? SecretHeader { get; set; }

    /// <summary>The secret (a name, or a template like <c>Bearer {name}</c>) that <see cref="SecretHeader"/> carries.</summary>
    public string? Secret { get; set; }

    /// <summary>Whether the URL's host may resolve to a private address (a hook inside the network). Metadata addresses never.</summary>
    public bool AllowPrivate { get; set; }

    /// <summary>Whether <see cref="Secret"/> may travel over a plain <c>http</c> URL (refused at start without it).</summary>
    public bool AllowSecretsOverHttp { get; set; }
}

/// <summary>
/// Who hears of approvals: <c>Agentic:Notify:Approvals:Channels:0</c> names a configured channel, and
/// <c>Agentic:Notify:Approvals:InboxUrl</c> is the dashboard's address, which each notification links to.
/// </summary>
public sealed class ApprovalNotifyOptions
{
    /// <summary>The channels (names under <c>Agentic:Notify:Channels</c>) told of every approval wait, escalation and timeout.</summary>
    public IList<string> Channels { get; } = [];

    /// <summary>The dashboard's address (<c>https://agentic.example.com/</c>); a notification links to the step in its inbox.</summary>
    public string? InboxUrl { get; set; }

    /// <summary>The inbox address of one step, or <c>null</c> without <see cref="InboxUrl"/>.</summary>
    public string? Link(string runId, string stepId) => InboxUrl is null ? null
        : $"{InboxUrl.TrimEnd('/')}/#/approvals?run={Uri.EscapeDataString(runId)}&step={Uri.EscapeDataString(stepId)}";
}

/// <summary>
/// Posts JSON to the configured channels: the channel's URL, its secret header (rendered from the secret the caller
/// resolved), an <c>Idempotency-Key</c>, through the egress client's address checks (private only where the channel
/// allows, metadata never), no redirects. Errors carry the status and a digest of the answer, never its body, and never
/// the secret.
/// </summary>
public sealed class WebhookChannels
{
    private readonly IReadOnlyDictionary<string, (Uri Url, NotifyChannel Channel, SecretTemplate? Secret)> _channels;
    private readonly EgressClient _client;

    /// <summary>The channels of <paramref name="options"/> (which must be valid), posting through <paramref name="client"/>.</summary>
    public WebhookChannels(NotifyOptions options, EgressClient client)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("The notification channels are not valid: " + string.Join(" ", problems), nameof(options));
        }
        _client = client;
        _channels = options.Channels.ToDictionary(
            c => c.Key,
            c => (new Uri(c.Value.Url), c.Value, c.Value.Secret is null ? null : SecretTemplate.Parse(c.Value.Secret)),
            StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The secret names the channels send, sorted.</summary>
    public IReadOnlyList<string> SecretNames =>
        [.. _channels.Values.Where(c => c.Secret is not null).Select(c => c.Secret!.Secret).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The secret the channel <paramref name="name"/> sends, if any.</summary>
    public string? SecretOf(string name) => _channels.TryGetValue(name, out var c) ? c.Secret?.Secret : null;

    /// <summary>Whether a channel called <paramref name="name"/> is configured.</summary>
    public bool Contains(string name) => _channels.ContainsKey(name);

    /// <summary>
    /// Posts <paramref name="payload"/> (JSON) to the channel <paramref name="name"/> within <paramref name="timeout"/> and
    /// answers the hook's 2xx status; throws <see cref="ToolException"/> (retryable for timeouts, 5xx and 429) otherwise.
    /// <paramref name="secrets"/> holds the channel's secret by name, if it has one; <paramref name="what"/> names the
    /// sender in errors.
    /// </summary>
    public async Task<int> PostAsync(string what, string name, string payload, string idempotencyKey, IReadOnlyDictionary<string, string> secrets, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (!_channels.TryGetValue(name, out var channel))
        {
            throw new ToolException($"{what}: no channel named '{name}' is configured ({NotifyOptions.Section}:Channels:{name}:Url).", retryable: false);
        }
        var redactor = new Redactor(secrets.Values);
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.Url)
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        if (channel.Secret is { } template)
        {
            if (!secrets.TryGetValue(template.Secret, out var secret))
            {
                throw new ToolException($"{what} was not given the secret '{template.Secret}' the channel '{name}' needs.", retryable: false);
            }
            if (secret.Any(char.IsControl))
            {
                throw new ToolException($"The secret '{template.Secret}' contains control characters and can not be sent as a header.", retryable: false);
            }
            request.Headers.TryAddWithoutValidation(channel.Channel.SecretHeader!, template.Render(secret));
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        HttpResponseMessage sent;
        try
        {
            sent = await _client.SendAsync(request, channel.Channel.AllowPrivate, bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{what} timed out after {timeout.TotalSeconds:0.#} s.", retryable: true);
        }
        catch (ToolException ex)
        {
            throw new ToolException(redactor.Redact($"{what} could not post to the channel '{name}': {ex.Message}."), ex.Retryable);
        }
        using var response = sent;
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            // The status and a digest, never the hook's body.
            var failure = await HttpBodies.DescribeFailureAsync(response, bounded.Token);
            var redirect = status is >= 300 and < 400 ? ", a redirect, which is not followed" : "";
            throw new ToolException(redactor.Redact($"{what}: the channel '{name}' {failure}{redirect}"), HttpBodies.IsRetryable(response.StatusCode));
        }
        return status;
    }
}

/// <summary>Validates <see cref="NotifyOptions"/> when the host starts.</summary>
internal sealed class NotifyOptionsValidator : IValidateOptions<NotifyOptions>
{
    public ValidateOptionsResult Validate(string? name, NotifyOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}

/// <summary>
/// <c>notify.webhook</c>: posts <c>{ runId, stepId, channel, severity, message }</c> to a configured channel with the
/// call's <c>Idempotency-Key</c>, so a repeated call is one notification to a hook that honours the key. The same address
/// rules as <c>http.request</c> apply; redirects are not followed.
/// </summary>
public sealed class NotifyWebhookTool : ITool
{
    /// <summary>The tool's name.</summary>
    public const string Name = "notify.webhook";

    /// <summary>Arguments: a channel name, a message of 1 to 2000 characters, an optional severity. Nothing else.</summary>
    public const string InputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "channel": { "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" },
            "message": { "type": "string", "minLength": 1, "maxLength": 2000 },
            "severity": { "type": "string", "enum": ["info", "warning", "critical"] }
          },
          "required": ["channel", "message"],
          "additionalProperties": false
        }
        """;

    /// <summary>Output: the channel, the hook's status, and that it was delivered.</summary>
    public const string OutputSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "properties": {
            "channel": { "type": "string" },
            "status": { "type": "integer", "minimum": 200, "maximum": 299 },
            "delivered": { "type": "boolean" }
          },
          "required": ["channel", "status", "delivered"],
          "additionalProperties": false
        }
        """;

    private static readonly string[] Severities = ["info", "warning", "critical"];

    private readonly WebhookChannels _channels;

    /// <summary>The tool over the channels of <paramref name="options"/>, posting through <paramref name="client"/>.</summary>
    public NotifyWebhookTool(NotifyOptions options, EgressClient client)
    {
        _channels = new WebhookChannels(options, client);
        var secrets = _channels.SecretNames;
        Descriptor = new(Name, "1.0.0",
            "Posts a message to a configured webhook channel (Agentic:Notify:Channels); repeated calls carry the same Idempotency-Key.",
            RiskLevel.Low, SideEffect.Irreversible, Idempotent: true, TimeSpan.FromSeconds(10), 4 * 1024)
        {
            InputSchema = InputSchema,
            OutputSchema = OutputSchema,
            Secrets = secrets.Count == 0 ? null : secrets,
            Tags = ["notification"],
        };
    }

    /// <inheritdoc />
    public ToolDescriptor Descriptor { get; }

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var (name, message, severity) = Parse(invocation.Arguments);
        if (!_channels.Contains(name))
        {
            throw new ToolException($"{Name}: no channel named '{name}' is configured ({NotifyOptions.Section}:Channels:{name}:Url).", retryable: false);
        }
        if (_channels.SecretOf(name) is { } secret && !invocation.Secrets.ContainsKey(secret))
        {
            throw new ToolException($"{Name} was not given the secret '{secret}' the channel '{name}' needs; call it through the tool executor.", retryable: false);
        }
        var payload = JsonSerializer.Serialize(new { runId = invocation.RunId, stepId = invocation.StepId, channel = name, severity, message }, AgenticJson.Options);
        var status = await _channels.PostAsync(Name, name, payload, invocation.IdempotencyKey, invocation.Secrets, Descriptor.Timeout, cancellationToken);
        var output = JsonSerializer.SerializeToElement(new { channel = name, status, delivered = true }, AgenticJson.Options);
        return new ToolOutcome(status, $"notified {name} ({severity})", output);
    }

    private static (string Channel, string Message, string Severity) Parse(JsonElement args)
    {
        static ToolException Refused(string reason) => new($"{Name} refused the call: {reason}.", retryable: false);
        if (args.ValueKind != JsonValueKind.Object)
        {
            throw Refused("the arguments must be an object");
        }
        var channel = args.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : throw Refused("'channel' is required");
        if (!NotifyOptions.IsChannelName(channel))
        {
            throw Refused($"'{channel}' is not a channel name");
        }
        var message = args.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : throw Refused("'message' is required");
        if (message.Length is < 1 or > 2000)
        {
            throw Refused("'message' must have 1 to 2000 characters");
        }
        var severity = args.TryGetProperty("severity", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "info";
        if (!Severities.Contains(severity, StringComparer.Ordinal))
        {
            throw Refused($"'severity' must be one of {string.Join(", ", Severities)}");
        }
        return (channel, message, severity);
    }
}
