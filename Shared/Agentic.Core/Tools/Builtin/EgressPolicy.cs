using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// Where <c>http.request</c> may go. Configuration (environment: <c>Agentic__Egress__Allow__0__Host</c> and so on):
/// <code>
/// "Agentic": { "Egress": { "Allow": [
///   { "Scheme": "https", "Host": "*.example.com", "Port": 443, "Methods": ["GET", "POST"], "Paths": ["/api/**"], "AllowPrivate": false,
///     "SecretHeaders": { "Authorization": "Bearer {fleet-token}", "X-Api-Key": "fleet-key" }, "AllowSecretsOverHttp": false } ] } }
/// </code>
/// </summary>
public sealed class EgressOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Egress";

    /// <summary>The rules; a call must match one of them (scheme, host, port, method and path). None: no egress at all.</summary>
    public IList<EgressRule> Allow { get; } = [];

    /// <summary>Every problem with the rules, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        for (var i = 0; i < Allow.Count; i++)
        {
            Allow[i].Validate(string.Create(CultureInfo.InvariantCulture, $"{Section}:Allow:{i}"), problems);
        }
        return problems;
    }
}

/// <summary>
/// Where a rule reaches: a scheme, a host, a port and path globs, and whether the host may resolve to a private address.
/// The shape shared by egress rules (<see cref="EgressRule"/>) and run target rules (<c>Agentic:Targets:Allow</c>).
/// </summary>
public class EndpointRule
{
    /// <summary><c>https</c> (the default) or <c>http</c>. A rule matches one scheme.</summary>
    public string Scheme { get; set; } = Uri.UriSchemeHttps;

    /// <summary>An exact host (<c>api.example.com</c>, an IP literal) or a wildcard of its subdomains (<c>*.example.com</c>, not the apex).</summary>
    public string Host { get; set; } = "";

    /// <summary>The port; the scheme's default (443 for <c>https</c>, 80 for <c>http</c>) when unset. A rule matches one port.</summary>
    public int? Port { get; set; }

    /// <summary>
    /// Path globs (at least one): <c>*</c> matches within one segment, <c>**</c> across segments, <c>?</c> one character
    /// other than <c>/</c>. <c>/api/*</c> allows <c>/api/items</c>, not <c>/api/items/1</c>; <c>/**</c> allows every path.
    /// The query string is not part of the path.
    /// </summary>
    public IList<string> Paths { get; } = [];

    /// <summary>
    /// Whether the host may resolve to loopback, private, link-local, shared (CGNAT), multicast or unspecified addresses.
    /// Cloud metadata addresses are refused regardless.
    /// </summary>
    public bool AllowPrivate { get; set; }

    /// <summary>The port this rule matches: <see cref="Port"/>, or the scheme's default.</summary>
    public int EffectivePort => Port ?? (string.Equals(Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) ? 80 : 443);

    internal virtual void Validate(string path, List<string> problems)
    {
        if (!string.Equals(Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase) && !string.Equals(Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{path}:Scheme: '{Scheme}' is not 'https' or 'http'.");
        }
        if (!EgressPolicy.IsValidHostPattern(Host))
        {
            problems.Add($"{path}:Host: '{Host}' is not a host name, an IP address or '*.' followed by a domain.");
        }
        if (Port is < 1 or > 65535)
        {
            problems.Add($"{path}:Port: {Port} is not a port (1 to 65535).");
        }
        if (Paths.Count == 0)
        {
            problems.Add($"{path}:Paths: at least one path glob is required ('/**' allows every path).");
        }
        foreach (var glob in Paths)
        {
            if (glob is null || !glob.StartsWith('/'))
            {
                problems.Add($"{path}:Paths: '{glob}' must start with '/'.");
            }
        }
    }
}

/// <summary>One egress rule: an endpoint, the methods allowed on it, and the secrets injected as headers.</summary>
public sealed class EgressRule : EndpointRule
{
    /// <summary>The methods allowed: any of <c>GET HEAD POST PUT PATCH DELETE</c>; at least one.</summary>
    public IList<string> Methods { get; } = [];

    /// <summary>
    /// Headers the rule sets from secrets, by header name. A value is a secret name (the header is the secret's value) or
    /// a template naming one secret in braces (<c>Bearer {fleet-token}</c>). Arguments may not set these headers.
    /// </summary>
    public IDictionary<string, string> SecretHeaders { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether <see cref="SecretHeaders"/> may travel over plain <c>http</c> (a rule with scheme <c>http</c> and secret
    /// headers is refused at start without it). Never after a redirect to another scheme, host or port.
    /// </summary>
    public bool AllowSecretsOverHttp { get; set; }

    internal override void Validate(string path, List<string> problems)
    {
        base.Validate(path, problems);
        if (Methods.Count == 0)
        {
            problems.Add($"{path}:Methods: at least one method is required.");
        }
        foreach (var method in Methods)
        {
            if (!EgressPolicy.SupportedMethods.Contains(method?.ToUpperInvariant() ?? ""))
            {
                problems.Add($"{path}:Methods: '{method}' is not one of {string.Join(", ", EgressPolicy.SupportedMethods)}.");
            }
        }
        foreach (var (header, value) in SecretHeaders)
        {
            if (!HttpHeaderName.IsValid(header))
            {
                problems.Add($"{path}:SecretHeaders: '{header}' is not a header name.");
            }
            else if (HttpHeaderName.IsReserved(header))
            {
                problems.Add($"{path}:SecretHeaders: '{header}' can not be set.");
            }
            if (!SecretTemplate.TryParse(value, out _, out var error))
            {
                problems.Add($"{path}:SecretHeaders:{header}: {error}");
            }
        }
        if (SecretHeaders.Count > 0 && string.Equals(Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) && !AllowSecretsOverHttp)
        {
            problems.Add($"{path}:SecretHeaders: secrets are not sent over plain http; use https, or set {path}:AllowSecretsOverHttp to true.");
        }
    }
}

/// <summary>
/// The compiled egress allowlist of <c>http.request</c>: a request is refused unless its scheme, host, port, method and
/// path match one <see cref="EgressRule"/>. Address rules (no private or metadata addresses) are enforced where the
/// connection is made (<see cref="EgressClient"/>), on the addresses actually connected to.
/// </summary>
public sealed partial class EgressPolicy
{
    /// <summary>The methods a rule may allow, in upper case.</summary>
    public static readonly IReadOnlyList<string> SupportedMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    private readonly IReadOnlyList<Grant> _rules;

    /// <summary>Compiles <paramref name="options"/>; throws <see cref="ArgumentException"/> listing every problem.</summary>
    public EgressPolicy(EgressOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("The egress policy is not valid: " + string.Join(" ", problems), nameof(options));
        }
        _rules = [.. options.Allow.Select(r => new Grant(r))];
        SecretNames = [.. _rules.SelectMany(r => r.SecretHeaders.Values.Select(t => t.Secret)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The policy <paramref name="configuration"/> describes at <see cref="EgressOptions.Section"/>.</summary>
    public static EgressPolicy FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new EgressOptions();
        configuration.GetSection(EgressOptions.Section).Bind(options);
        return new EgressPolicy(options);
    }

    /// <summary>Every secret name the rules reference, sorted: what <c>http.request</c> declares.</summary>
    public IReadOnlyList<string> SecretNames { get; }

    /// <summary>Every header name some rule sets from a secret.</summary>
    internal IEnumerable<string> SecretHeaderNames => _rules.SelectMany(r => r.SecretHeaders.Keys);

    /// <summary>
    /// Whether <paramref name="method"/> to <paramref name="uri"/> matches a rule; <paramref name="reason"/> says why not.
    /// Addresses are checked when connecting, not here.
    /// </summary>
    public bool IsAllowed(string method, Uri uri, out string reason)
    {
        var grant = Match(method, uri, out reason);
        return grant is not null;
    }

    /// <summary>Whether the rule that allows <paramref name="method"/> to <paramref name="uri"/> lets secrets travel over plain http.</summary>
    internal bool AllowsSecretsOverHttp(string method, Uri uri) => Match(method, uri, out _)?.AllowSecretsOverHttp == true;

    /// <summary>The rule that allows the request, or throws a non-retryable <see cref="ToolException"/> with the precise reason.</summary>
    internal Grant Authorize(string method, Uri uri, string context) =>
        Match(method, uri, out var reason) ?? throw new ToolException($"{context}: {reason}.", retryable: false);

    private Grant? Match(string method, Uri uri, out string reason)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(uri);
        method = method.ToUpperInvariant();
        if (Endpoint.Problem(uri) is { } problem)
        {
            reason = problem;
            return null;
        }
        var origin = Endpoint.Origin(uri);
        var onEndpoint = _rules.Where(r => r.Endpoint.MatchesOrigin(uri)).ToList();
        if (onEndpoint.Count == 0)
        {
            reason = $"no egress rule allows {origin}";
            return null;
        }
        var withMethod = onEndpoint.Where(r => r.Methods.Contains(method)).ToList();
        if (withMethod.Count == 0)
        {
            reason = $"no egress rule allows {method} on {origin} (allowed: {string.Join(", ", onEndpoint.SelectMany(r => r.Methods).Distinct().Order(StringComparer.Ordinal))})";
            return null;
        }
        var path = uri.AbsolutePath;
        var grant = withMethod.FirstOrDefault(r => r.Endpoint.MatchesPath(path));
        if (grant is null)
        {
            reason = $"no egress rule allows the path '{path}' for {method} on {origin} (allowed: {string.Join(", ", withMethod.SelectMany(r => r.Endpoint.Globs).Distinct())})";
            return null;
        }
        reason = "";
        return grant;
    }

    internal static bool IsValidHostPattern(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return false;
        }
        if (IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            return true;
        }
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return HostName().IsMatch(name);
    }

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostName();

    /// <summary>A compiled egress rule.</summary>
    internal sealed class Grant
    {
        public Grant(EgressRule rule)
        {
            Endpoint = new Endpoint(rule);
            Methods = [.. rule.Methods.Select(m => m.ToUpperInvariant())];
            AllowSecretsOverHttp = rule.AllowSecretsOverHttp;
            SecretHeaders = rule.SecretHeaders.ToDictionary(h => h.Key, h => SecretTemplate.Parse(h.Value), StringComparer.OrdinalIgnoreCase);
        }

        public Endpoint Endpoint { get; }

        public HashSet<string> Methods { get; }

        public bool AllowPrivate => Endpoint.AllowPrivate;

        public bool AllowSecretsOverHttp { get; }

        public IReadOnlyDictionary<string, SecretTemplate> SecretHeaders { get; }
    }
}

/// <summary>A compiled <see cref="EndpointRule"/>: matches a URL's scheme, host, port and path.</summary>
internal sealed partial class Endpoint
{
    private readonly string _scheme;
    private readonly string _host;
    private readonly bool _wildcard;
    private readonly int _port;
    private readonly Regex[] _paths;

    public Endpoint(EndpointRule rule)
    {
        _scheme = rule.Scheme.ToLowerInvariant();
        _wildcard = rule.Host.StartsWith("*.", StringComparison.Ordinal);
        _host = _wildcard ? "." + NormalizeHost(rule.Host[2..]) : NormalizeHost(rule.Host);
        _port = rule.EffectivePort;
        Globs = [.. rule.Paths];
        _paths = [.. rule.Paths.Select(Compile)];
        AllowPrivate = rule.AllowPrivate;
    }

    public IReadOnlyList<string> Globs { get; }

    public bool AllowPrivate { get; }

    /// <summary>Why <paramref name="uri"/> can not be judged by any rule (not absolute http(s), credentials, encoded separators), or <c>null</c>.</summary>
    public static string? Problem(Uri uri)
    {
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "it is not an absolute http or https URL";
        }
        if (uri.UserInfo.Length > 0)
        {
            return "credentials in the URL are not allowed";
        }
        if (EncodedSeparator().IsMatch(uri.AbsolutePath))
        {
            return $"the path '{uri.AbsolutePath}' encodes '/', '\\' or '.', which the allowlist can not judge";
        }
        return null;
    }

    /// <summary><c>scheme://host:port</c> of <paramref name="uri"/>, the port always written, the host as rules see it.</summary>
    public static string Origin(Uri uri)
    {
        var host = NormalizeHost(uri.IdnHost);
        return string.Create(CultureInfo.InvariantCulture, $"{uri.Scheme}://{(host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host)}:{uri.Port}");
    }

    public bool MatchesOrigin(Uri uri)
    {
        if (uri.Scheme != _scheme || uri.Port != _port)
        {
            return false;
        }
        var host = NormalizeHost(uri.IdnHost);
        return _wildcard ? host.EndsWith(_host, StringComparison.Ordinal) && host.Length > _host.Length : host == _host;
    }

    public bool MatchesPath(string path) => _paths.Any(p => p.IsMatch(path));

    public bool Matches(Uri uri) => MatchesOrigin(uri) && MatchesPath(uri.AbsolutePath);

    private static string NormalizeHost(string host)
    {
        var bare = host.Trim('[', ']');
        return IPAddress.TryParse(bare, out var address) ? address.ToString() : host.ToLowerInvariant().TrimEnd('.');
    }

    private static Regex Compile(string glob)
    {
        var pattern = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            if (glob[i] == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                pattern.Append(".*");
                i++;
            }
            else if (glob[i] == '*')
            {
                pattern.Append("[^/]*");
            }
            else if (glob[i] == '?')
            {
                pattern.Append("[^/]");
            }
            else
            {
                pattern.Append(Regex.Escape(glob[i].ToString()));
            }
        }
        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
    }

    [GeneratedRegex("%(2f|5c|2e)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EncodedSeparator();
}

/// <summary>Validates <see cref="EgressOptions"/> when the host starts.</summary>
internal sealed class EgressOptionsValidator : IValidateOptions<EgressOptions>
{
    public ValidateOptionsResult Validate(string? name, EgressOptions options) =>
        options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
