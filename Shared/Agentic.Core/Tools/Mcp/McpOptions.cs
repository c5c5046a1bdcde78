using System.Globalization;
using System.Text.RegularExpressions;
using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// The MCP servers whose tools the deployment offers. Each server is a stdio command or a streamable HTTP endpoint
/// (which the egress rules must allow); each of its tools becomes <c>mcp.{server}.{tool}</c>, classified here or taken as
/// high risk, irreversible and not idempotent. Configuration (environment: <c>Agentic__Mcp__Servers__files__Command</c>):
/// <code>
/// "Agentic": { "Mcp": { "Servers": {
///   "files": { "Command": "npx", "Arguments": ["-y", "@modelcontextprotocol/server-filesystem", "/srv/share"],
///              "Environment": { "LOG_LEVEL": "warn" }, "SecretEnvironment": { "API_TOKEN": "files-token" } },
///   "tickets": { "Url": "https://mcp.example.com/mcp", "SecretHeaders": { "Authorization": "Bearer {tickets-token}" },
///                "Tools": { "search": { "Risk": "Low", "SideEffect": "ReadOnly", "Idempotent": true, "TimeoutSeconds": 10,
///                                       "MaxOutputBytes": 65536, "Cost": 1, "RateLimit": 10, "RatePerSeconds": 1, "MaxConcurrency": 4, "Tags": ["tickets"] } } } } } }
/// </code>
/// </summary>
public sealed class McpOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Mcp";

    /// <summary>The servers, by name (1 to 32 lower-case letters, digits or '-'; part of every tool name).</summary>
    public IDictionary<string, McpServerOptions> Servers { get; } = new Dictionary<string, McpServerOptions>(StringComparer.Ordinal);

    /// <summary>Every problem with the servers, each naming its setting; empty when they are valid.</summary>
    /// <param name="egress">The egress rules an HTTP server's endpoint must match.</param>
    public IReadOnlyList<string> Validate(EgressPolicy? egress)
    {
        var problems = new List<string>();
        foreach (var (name, server) in Servers)
        {
            var path = $"{Section}:Servers:{name}";
            if (!McpNames.IsValidServer(name))
            {
                problems.Add($"{path}: '{name}' is not a server name (1 to 32 lower-case letters, digits or '-', starting with a letter).");
            }
            server.Validate(path, egress, problems);
        }
        return problems;
    }
}

/// <summary>One MCP server: exactly one of <see cref="Command"/> (stdio) or <see cref="Url"/> (streamable HTTP).</summary>
public sealed partial class McpServerOptions
{
    /// <summary>The program to start (stdio transport). It gets only the variables below, not the host's environment.</summary>
    public string? Command { get; set; }

    /// <summary>The program's arguments.</summary>
    public IList<string> Arguments { get; } = [];

    /// <summary>The program's working directory; the host's when unset.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Plain environment variables for the program, by name (besides PATH, HOME and the like).</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Environment variables set from secrets: variable name to secret name. The only secrets the program sees.</summary>
    public IDictionary<string, string> SecretEnvironment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The streamable HTTP endpoint (https, or http where an egress rule allows it); reached through the egress rules.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// Headers set from secrets on every request to <see cref="Url"/>, by header name: a secret name or a template naming
    /// one secret in braces (<c>Bearer {name}</c>). The only secrets the server sees.
    /// </summary>
    public IDictionary<string, string> SecretHeaders { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long connecting and listing tools may take, in seconds (1 to 300, default 30).</summary>
    public int ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// How long one listing of the server's tools answers the pin checks of plans, gates and calls, in seconds (0 to 60,
    /// default 5; 0 lists before every check). A server that changes an announcement is refused at most this long after.
    /// </summary>
    public int AnnouncementMaxAgeSeconds { get; set; } = 5;

    /// <summary>The classification of the server's tools, by the tool's name as the server announces it.</summary>
    public IDictionary<string, McpToolOptions> Tools { get; } = new Dictionary<string, McpToolOptions>(StringComparer.Ordinal);

    /// <summary>Every secret name the server is configured to receive.</summary>
    public IReadOnlyList<string> SecretNames =>
        [.. SecretEnvironment.Values.Concat(SecretHeaders.Values.Select(v => SecretTemplate.TryParse(v, out var t, out _) ? t.Secret : v))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    internal void Validate(string path, EgressPolicy? egress, List<string> problems)
    {
        var stdio = !string.IsNullOrWhiteSpace(Command);
        var http = !string.IsNullOrWhiteSpace(Url);
        if (stdio == http)
        {
            problems.Add($"{path}: set exactly one of {path}:Command (stdio) or {path}:Url (streamable HTTP).");
        }
        if (stdio)
        {
            if (SecretHeaders.Count > 0)
            {
                problems.Add($"{path}:SecretHeaders: headers go to an HTTP server; a stdio server gets secrets through {path}:SecretEnvironment.");
            }
        }
        if (http)
        {
            ValidateUrl(path, egress, problems);
            if (Environment.Count > 0 || SecretEnvironment.Count > 0 || Arguments.Count > 0 || WorkingDirectory is not null)
            {
                problems.Add($"{path}: Arguments, WorkingDirectory, Environment and SecretEnvironment apply to a stdio server only.");
            }
        }
        foreach (var (variable, value) in Environment)
        {
            if (!EnvironmentName().IsMatch(variable))
            {
                problems.Add($"{path}:Environment: '{variable}' is not an environment variable name.");
            }
            else if (SecretEnvironment.ContainsKey(variable))
            {
                problems.Add($"{path}:Environment:{variable}: also set in {path}:SecretEnvironment.");
            }
            if (value is null || value.Any(char.IsControl))
            {
                problems.Add($"{path}:Environment:{variable}: a value without control characters is required.");
            }
        }
        foreach (var (variable, secret) in SecretEnvironment)
        {
            if (!EnvironmentName().IsMatch(variable))
            {
                problems.Add($"{path}:SecretEnvironment: '{variable}' is not an environment variable name.");
            }
            if (!SecretName.IsValid(secret))
            {
                problems.Add($"{path}:SecretEnvironment:{variable}: '{secret}' is not a secret name (1 to 127 letters, digits or '-').");
            }
        }
        foreach (var (header, value) in SecretHeaders)
        {
            if (!HttpHeaderName.IsValid(header) || HttpHeaderName.IsReserved(header) || McpNames.IsProtocolHeader(header))
            {
                problems.Add($"{path}:SecretHeaders: '{header}' can not be set.");
            }
            if (!SecretTemplate.TryParse(value, out _, out var error))
            {
                problems.Add($"{path}:SecretHeaders:{header}: {error}");
            }
        }
        if (ConnectTimeoutSeconds is < 1 or > 300)
        {
            problems.Add($"{path}:ConnectTimeoutSeconds: {ConnectTimeoutSeconds} is not 1 to 300.");
        }
        if (AnnouncementMaxAgeSeconds is < 0 or > 60)
        {
            problems.Add($"{path}:AnnouncementMaxAgeSeconds: {AnnouncementMaxAgeSeconds} is not 0 to 60.");
        }
        foreach (var (tool, options) in Tools)
        {
            if (!McpNames.IsValidTool(tool))
            {
                problems.Add($"{path}:Tools: '{tool}' is not an MCP tool name (1 to 64 letters, digits, '_', '-' or '.').");
            }
            options.Validate($"{path}:Tools:{tool}", problems);
        }
    }

    private void ValidateUrl(string path, EgressPolicy? egress, List<string> problems)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add($"{path}:Url: '{Url}' is not an absolute http or https URI.");
            return;
        }
        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            problems.Add($"{path}:Url: '{uri.GetLeftPart(UriPartial.Path)}' must have no user info, query or fragment (credentials go in {path}:SecretHeaders).");
            return;
        }
        if (egress is null)
        {
            return;
        }
        // The client posts messages and may delete its session; each request is checked again when it is sent.
        if (!egress.IsAllowed("POST", uri, out var reason))
        {
            problems.Add($"{path}:Url: {reason}; add a rule to {EgressOptions.Section}:Allow that allows POST to it.");
        }
        else if (SecretHeaders.Count > 0 && uri.Scheme == Uri.UriSchemeHttp && !egress.AllowsSecretsOverHttp("POST", uri))
        {
            problems.Add($"{path}:SecretHeaders: secrets are not sent over plain http; use https, or set AllowSecretsOverHttp on the egress rule for {uri.GetLeftPart(UriPartial.Authority)}.");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentName();
}

/// <summary>
/// How one MCP tool is governed. Unset members keep the defaults of an unclassified tool: high risk, irreversible, not
/// idempotent, 30 s, 64 KB of output, cost 1, no rate or concurrency limit.
/// </summary>
public sealed class McpToolOptions
{
    // Read as text and parsed here: the configuration binder drops an entry whose enum value it can not convert, which
    // would leave a misspelt classification unnoticed.

    /// <summary>How much harm the tool can do: <c>Low</c>, <c>Medium</c>, <c>High</c> (the default) or <c>Critical</c>.</summary>
    public string? Risk { get; set; }

    /// <summary>What the tool does: <c>ReadOnly</c>, <c>Reversible</c> or <c>Irreversible</c> (the default).</summary>
    public string? SideEffect { get; set; }

    /// <summary>The parsed <see cref="Risk"/>.</summary>
    public RiskLevel RiskLevel => Parse(Risk, RiskLevel.High);

    /// <summary>The parsed <see cref="SideEffect"/>.</summary>
    public SideEffect SideEffectClass => Parse(SideEffect, Tools.SideEffect.Irreversible);

    private static T Parse<T>(string? value, T unset) where T : struct, Enum =>
        value is null ? unset : Enum.TryParse<T>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !value.Any(char.IsDigit)
            ? parsed
            : throw new InvalidOperationException($"'{value}' is not one of {string.Join(", ", Enum.GetNames<T>())}.");

    private static bool IsValid<T>(string? value) where T : struct, Enum =>
        value is null || (Enum.TryParse<T>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !value.Any(char.IsDigit));

    /// <summary>Whether repeating a call is harmless (default <c>false</c>: an interrupted call is never repeated).</summary>
    public bool Idempotent { get; set; }

    /// <summary>The call's timeout in seconds (1 to 600, default 30).</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>The most output kept, in bytes (1 to 16 MB, default 64 KB).</summary>
    public int MaxOutputBytes { get; set; } = 64 * 1024;

    /// <summary>What one call costs against a run's budget (default 1).</summary>
    public double? Cost { get; set; }

    /// <summary>At most this many calls start per <see cref="RatePerSeconds"/> on one host; unset: no rate limit.</summary>
    public int? RateLimit { get; set; }

    /// <summary>The rate limit's window in seconds (default 1).</summary>
    public int RatePerSeconds { get; set; } = 1;

    /// <summary>At most this many calls run at once on one host; unset: no limit.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Labels policies can test (<c>tool.tags</c>); every MCP tool also carries <c>mcp</c>.</summary>
    public IList<string> Tags { get; } = [];

    internal void Validate(string path, List<string> problems)
    {
        if (!IsValid<RiskLevel>(Risk))
        {
            problems.Add($"{path}:Risk: '{Risk}' is not one of {string.Join(", ", Enum.GetNames<RiskLevel>())}.");
        }
        if (!IsValid<SideEffect>(SideEffect))
        {
            problems.Add($"{path}:SideEffect: '{SideEffect}' is not one of {string.Join(", ", Enum.GetNames<SideEffect>())}.");
        }
        if (TimeoutSeconds is < 1 or > 600)
        {
            problems.Add($"{path}:TimeoutSeconds: {TimeoutSeconds} is not 1 to 600.");
        }
        if (MaxOutputBytes is < 1 or > 16 * 1024 * 1024)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:MaxOutputBytes: {MaxOutputBytes} is not 1 to {16 * 1024 * 1024}."));
        }
        if (Cost is { } cost && (double.IsNaN(cost) || cost < 0 || double.IsInfinity(cost)))
        {
            problems.Add($"{path}:Cost: must be a finite number of at least 0.");
        }
        if (RateLimit is < 1)
        {
            problems.Add($"{path}:RateLimit: must be at least 1.");
        }
        if (RatePerSeconds is < 1 or > 86_400)
        {
            problems.Add($"{path}:RatePerSeconds: {RatePerSeconds} is not 1 to 86400.");
        }
        if (MaxConcurrency is < 1)
        {
            problems.Add($"{path}:MaxConcurrency: must be at least 1.");
        }
        if (Tags.Any(string.IsNullOrWhiteSpace))
        {
            problems.Add($"{path}:Tags: a tag can not be empty.");
        }
    }
}

/// <summary>Names of MCP servers and tools.</summary>
public static partial class McpNames
{
    /// <summary>The prefix of every MCP tool's name.</summary>
    public const string Prefix = "mcp.";

    /// <summary>The tag every MCP tool carries.</summary>
    public const string Tag = "mcp";

    /// <summary>The registry name of <paramref name="tool"/> on <paramref name="server"/>: <c>mcp.{server}.{tool}</c>.</summary>
    public static string ToolName(string server, string tool) => $"{Prefix}{server}.{tool}";

    /// <summary>Whether <paramref name="name"/> may name a server.</summary>
    public static bool IsValidServer(string? name) => name is not null && ServerName().IsMatch(name);

    /// <summary>Whether an announced tool name can be offered (it becomes part of table keys and rule names).</summary>
    public static bool IsValidTool(string? name) => name is not null && ToolName().IsMatch(name);

    // The transport sets these; configuration may not.
    internal static bool IsProtocolHeader(string header) =>
        header.StartsWith("Mcp-", StringComparison.OrdinalIgnoreCase) || string.Equals(header, "Accept", StringComparison.OrdinalIgnoreCase)
        || string.Equals(header, "Content-Type", StringComparison.OrdinalIgnoreCase) || string.Equals(header, "Last-Event-ID", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex ServerName();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ToolName();
}

/// <summary>Validates <see cref="McpOptions"/> when the host starts, against the egress rules.</summary>
internal sealed class McpOptionsValidator(IOptions<EgressOptions> egress) : IValidateOptions<McpOptions>
{
    public ValidateOptionsResult Validate(string? name, McpOptions options)
    {
        // Invalid egress rules are reported by their own validator; the endpoints are checked against valid ones only.
        var policy = egress.Value.Validate().Count == 0 ? new EgressPolicy(egress.Value) : null;
        return options.Validate(policy) is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}
