using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Agentic.Testing;

/// <summary>
/// The callers tests sign in as. Every (principal, roles) pair the tests use has its own key, made fresh for each test
/// process and configured on the hosts it starts by hash only, as a deployment would (<see cref="HostSettings"/>).
/// Bearer tokens are minted with a signing key made the same way.
/// </summary>
public static class TestIdentities
{
    /// <summary>The header keys travel in.</summary>
    public const string KeyHeader = "x-functions-key";

    /// <summary>The token issuer the hosts trust.</summary>
    public const string Authority = "https://login.agentic.test/0b7e5c1e-0000-4000-8000-000000000001/v2.0";

    /// <summary>The audience the hosts require.</summary>
    public const string Audience = "api://agentic-tests";

    private static readonly (string Principal, string Roles)[] Roster =
    [
        ("requester", "requester"), ("requester", "operator"), ("requester-2", "requester"), ("someone-else", "requester"),
        ("operator-1", "operator"), ("operator-1", "operator,viewer"), ("operator-1", "administrator"), ("operator-1", ""),
        ("operator-2", "operator"), ("operator-2", "viewer"), ("operator-2", ""),
        ("admin-1", "admin,operator"), ("admin-2", "admin"), ("reviewer-1", "reviewer"),
        ("viewer-1", ""), ("viewer-1", "requester"), ("nobody", ""),
        // Variants of one person's id: case, full width, a decomposed accent.
        ("REQUESTER", "operator"), ("\uFF52\uFF45\uFF51\uFF55\uFF45\uFF53\uFF54\uFF45\uFF52", "operator"), ("Re\u200Bquester", "operator"),
        ("jos\u00E9", "requester"), ("jose\u0301", "operator"), ("JOSE\u0301", "operator"),
    ];

    private static readonly Dictionary<(string, string), string> Keys =
        Roster.ToDictionary(p => (p.Principal, Normalize(p.Roles)), _ => NewSecret(24));

    /// <summary>The key that signs in as <paramref name="principal"/> holding exactly <paramref name="roles"/> (comma-separated).</summary>
    public static string Key(string principal, string? roles) =>
        Keys.TryGetValue((principal, Normalize(roles)), out var key)
            ? key
            : throw new InvalidOperationException($"No test key for '{principal}' with roles '{roles}': add the pair to {nameof(TestIdentities)}.{nameof(Roster)}.");

    /// <summary>The base64 signing key of <see cref="MintToken"/>.</summary>
    public static string SigningKey { get; } = NewSecret(32, base64Url: false);

    /// <summary>The audit signing key (PKCS#8 PEM) the hosts of this test process sign checkpoints with.</summary>
    public static string AuditSigningKey { get; } = Agentic.Core.Audit.AuditSigner.NewKeyPem();

    /// <summary>The settings (environment variable names) that make a host accept these keys and tokens.</summary>
    public static Dictionary<string, string?> HostSettings()
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Agentic__Auth__Jwt__Authority"] = Authority,
            ["Agentic__Auth__Jwt__Audience"] = Audience,
            ["Agentic__Auth__Jwt__SigningKeys__0"] = SigningKey,
            // One audit signing key for every host of the test process: hosts sharing a hub sign one checkpoint sequence.
            ["Agentic__Secrets__audit-signing-key"] = AuditSigningKey,
        };
        var i = 0;
        foreach (var ((principal, roles), key) in Keys)
        {
            var prefix = string.Create(CultureInfo.InvariantCulture, $"Agentic__Auth__ApiKeys__{i++}__");
            settings[prefix + "Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
            settings[prefix + "Principal"] = principal;
            var j = 0;
            foreach (var role in roles.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                settings[string.Create(CultureInfo.InvariantCulture, $"{prefix}Roles__{j++}")] = role;
            }
        }
        return settings;
    }

    /// <summary>
    /// A bearer token for <paramref name="oid"/> with app <paramref name="roles"/>; the other parameters make it wrong in
    /// one way for a test (another audience, expired, signed with another key, no signature).
    /// </summary>
    public static string MintToken(string? oid, IEnumerable<string> roles, string? audience = null, DateTime? expires = null, string? signingKey = null,
        bool withoutSignature = false, string? sub = null, string? issuer = null, string? name = null)
    {
        var claims = new List<Claim>();
        if (oid is not null)
        {
            claims.Add(new("oid", oid));
        }
        if (sub is not null)
        {
            claims.Add(new("sub", sub));
        }
        if (name is not null)
        {
            claims.Add(new("name", name));
        }
        claims.AddRange(roles.Select(r => new Claim("roles", r)));
        var end = expires ?? DateTime.UtcNow.AddMinutes(30);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Authority,
            Audience = audience ?? Audience,
            Subject = new ClaimsIdentity(claims),
            // Valid from a moment ago (or, for an expired token, from before its end).
            NotBefore = (end < DateTime.UtcNow ? end : DateTime.UtcNow).AddMinutes(-5),
            IssuedAt = (end < DateTime.UtcNow ? end : DateTime.UtcNow).AddMinutes(-5),
            Expires = end,
            SigningCredentials = withoutSignature ? null : new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(signingKey ?? SigningKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A random secret, base64url unless asked otherwise.</summary>
    public static string NewSecret(int bytes, bool base64Url = true)
    {
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));
        return base64Url ? text.TrimEnd('=').Replace('+', '-').Replace('/', '_') : text;
    }

    private static string Normalize(string? roles) =>
        string.Join(',', (roles ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => r.ToLowerInvariant()).Order(StringComparer.Ordinal));
}
