using System.Globalization;
using System.Text.RegularExpressions;

namespace Agentic.Runtime.Http.Identity;

/// <summary>
/// How callers prove who they are. Configuration (environment: <c>Agentic__Auth__ApiKeys__0__Sha256</c> and so on):
/// <code>
/// "Agentic": { "Auth": {
///   "ApiKeys": [ { "Sha256": "&lt;hex SHA-256 of the key&gt;", "Principal": "oncall-bot", "Roles": ["requester"] } ],
///   "Jwt": { "Authority": "https://login.microsoftonline.com/&lt;tenant&gt;/v2.0", "Audience": "api://agentic",
///            "SigningKeys": ["&lt;base64, test deployments only&gt;"] } } }
/// </code>
/// Keys are sent like Azure Functions keys (<c>x-functions-key</c> header or <c>code</c> query parameter); only their
/// hash is configured. Bearer tokens are Entra ID access tokens: the principal is the <c>oid</c> claim (else
/// <c>sub</c>), the roles are the <c>roles</c> claim.
/// </summary>
public sealed partial class AgenticAuthOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Agentic:Auth";

    /// <summary>Keys for machines and people, each mapped to a principal and roles.</summary>
    public IList<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>Bearer tokens; off unless <see cref="JwtOptions.Authority"/> is set.</summary>
    public JwtOptions Jwt { get; } = new();

    /// <summary>Every problem with the settings, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate(string? environment)
    {
        var problems = new List<string>();
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var key = ApiKeys[i];
            var path = string.Create(CultureInfo.InvariantCulture, $"{Section}:ApiKeys:{i}");
            if (key.Sha256 is not { Length: 64 } hash || !Hex().IsMatch(hash))
            {
                problems.Add($"{path}:Sha256: the hex SHA-256 of the key (64 hex digits) is required; the key itself is never configured.");
            }
            else if (!hashes.Add(hash))
            {
                problems.Add($"{path}:Sha256: the same key is configured twice.");
            }
            if (string.IsNullOrWhiteSpace(key.Principal) || key.Principal.Length > 256)
            {
                problems.Add($"{path}:Principal: a stable principal id (1 to 256 characters) is required.");
            }
            else if (Core.Runs.PrincipalIds.Same(key.Principal, Core.Runs.ApprovalRules.Anonymous))
            {
                problems.Add($"{path}:Principal: '{key.Principal}' names unauthenticated callers and can not be a key's principal.");
            }
            foreach (var role in key.Roles)
            {
                if (string.IsNullOrWhiteSpace(role))
                {
                    problems.Add($"{path}:Roles: a role may not be empty.");
                }
            }
        }
        if (Jwt.Authority is { Length: > 0 } authority)
        {
            if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                problems.Add($"{Section}:Jwt:Authority: '{authority}' is not an absolute https URI.");
            }
            if (string.IsNullOrWhiteSpace(Jwt.Audience))
            {
                problems.Add($"{Section}:Jwt:Audience: required with {Section}:Jwt:Authority.");
            }
        }
        else if (Jwt.SigningKeys.Count > 0 || !string.IsNullOrWhiteSpace(Jwt.Audience))
        {
            problems.Add($"{Section}:Jwt:Authority: required with {Section}:Jwt:Audience and {Section}:Jwt:SigningKeys.");
        }
        if (Jwt.SigningKeys.Count > 0 && string.Equals(environment, "prod", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{Section}:Jwt:SigningKeys: local signing keys are for tests and are refused when Agentic:Environment is 'prod'; tokens there are verified with the authority's published keys.");
        }
        for (var i = 0; i < Jwt.SigningKeys.Count; i++)
        {
            if (JwtOptions.DecodeKey(Jwt.SigningKeys[i]) is not { Length: >= 32 })
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}:Jwt:SigningKeys:{i}: base64 of at least 32 bytes is required."));
            }
        }
        return problems;
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Hex();
}

/// <summary>One key: the hash of its value, whom it names and what they may do.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>Hex SHA-256 of the key's UTF-8 text.</summary>
    public string? Sha256 { get; set; }

    /// <summary>The stable principal id the key authenticates as.</summary>
    public string? Principal { get; set; }

    /// <summary>The roles the key's principal holds.</summary>
    public IList<string> Roles { get; } = [];
}

/// <summary>Bearer token validation.</summary>
public sealed class JwtOptions
{
    /// <summary>The issuer's authority (Entra ID: <c>https://login.microsoftonline.com/{tenant}/v2.0</c>); tokens must be issued by it.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must name (the API's client id or application ID URI).</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Symmetric signing keys (base64) accepted instead of the authority's published keys; no metadata is fetched when
    /// any is set. For tests only: refused when the deployment's environment is <c>prod</c>.
    /// </summary>
    public IList<string> SigningKeys { get; } = [];

    internal static byte[]? DecodeKey(string? text)
    {
        try
        {
            return string.IsNullOrWhiteSpace(text) ? null : Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
