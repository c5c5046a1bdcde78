using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Http.Identity;

/// <summary>The configured keys as hashes, read once.</summary>
internal sealed class ApiKeyRing(IOptions<AgenticAuthOptions> options)
{
    private readonly (byte[] Hash, string Principal, string[] Roles)[] _keys =
        [.. options.Value.ApiKeys.Select(k => (Convert.FromHexString(k.Sha256!), k.Principal!.Trim(), k.Roles.ToArray()))];

    public bool IsEmpty => _keys.Length == 0;

    /// <summary>
    /// The key's principal and roles, or <c>null</c>. Every configured hash is compared, each in constant time, so the
    /// time taken says nothing about which key, or how much of one, matched.
    /// </summary>
    public (string Principal, string[] Roles)? Match(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        (string, string[])? found = null;
        foreach (var entry in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash) && found is null)
            {
                found = (entry.Principal, entry.Roles);
            }
        }
        return found;
    }
}

/// <summary>
/// Keys sent the way Azure Functions keys are: the <c>x-functions-key</c> header or the <c>code</c> query parameter.
/// No key: no result (another scheme, or 401). A key that matches no configured hash: failure.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "x-functions-key";
    public const string QueryParameter = "code";
    private const int MaxKeyLength = 512;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = Request.Headers[Header].FirstOrDefault() ?? Request.Query[QueryParameter].FirstOrDefault();
        if (string.IsNullOrEmpty(key) || keys.IsEmpty)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (key.Length > MaxKeyLength || keys.Match(key) is not { } match)
        {
            return Task.FromResult(AuthenticateResult.Fail("The key is not valid."));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(AgenticClaims.Principal(SchemeName, match.Principal, match.Roles), SchemeName)));
    }
}
