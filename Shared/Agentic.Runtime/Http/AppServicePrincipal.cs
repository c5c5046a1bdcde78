using System.Text;
using System.Text.Json;

namespace Agentic.Runtime.Http;

/// <summary>
/// The caller as Azure App Service authentication states it in <c>X-MS-CLIENT-PRINCIPAL</c> (base64 of
/// <c>{"auth_typ": ..., "name_typ": ..., "role_typ": ..., "claims": [{"typ": ..., "val": ...}]}</c>). The platform
/// drops a client's copy of that header only while its authentication is on, so the Functions host reads it only when
/// <c>WEBSITE_AUTH_ENABLED</c> is <c>True</c> (<see cref="Identity.AppServiceAuthenticationHandler"/>), and names the
/// caller by the token's object id, never by a display name.
/// </summary>
public static class AppServicePrincipal
{
    /// <summary>The header App Service authentication sets.</summary>
    public const string Header = "X-MS-CLIENT-PRINCIPAL";

    /// <summary>The header App Service authentication sets to the caller's display name (never an identity here).</summary>
    public const string NameHeader = "X-MS-CLIENT-PRINCIPAL-NAME";

    /// <summary>The setting App Service sets to <c>True</c> while its authentication is on.</summary>
    public const string EnabledSetting = "WEBSITE_AUTH_ENABLED";

    private const int MaxHeaderLength = 16 * 1024;

    private static readonly string[] RoleClaimTypes = ["roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];
    private static readonly string[] ObjectIdClaimTypes = ["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"];

    /// <summary>The roles in <paramref name="header"/>; none when it is absent or not a principal document.</summary>
    public static IReadOnlyList<string> Roles(string? header) => Read(header)?.Roles ?? [];

    /// <summary>The object id and roles in <paramref name="header"/>, or <c>null</c> when it is absent or not a principal document.</summary>
    public static (string? ObjectId, IReadOnlyList<string> Roles)? Read(string? header)
    {
        if (string.IsNullOrWhiteSpace(header) || header.Length > MaxHeaderLength)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header.Trim())));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var roleType = root.TryGetProperty("role_typ", out var typ) && typ.ValueKind == JsonValueKind.String ? typ.GetString() : null;
            var pairs = claims.EnumerateArray()
                .Where(c => c.ValueKind == JsonValueKind.Object
                    && c.TryGetProperty("typ", out var t) && t.ValueKind == JsonValueKind.String
                    && c.TryGetProperty("val", out var v) && v.ValueKind == JsonValueKind.String)
                .Select(c => (Type: c.GetProperty("typ").GetString()!, Value: c.GetProperty("val").GetString()!.Trim()))
                .ToList();
            var roles = pairs
                .Where(p => string.Equals(p.Type, roleType, StringComparison.Ordinal) || RoleClaimTypes.Contains(p.Type, StringComparer.OrdinalIgnoreCase))
                .Select(p => p.Value)
                .Where(r => r.Length > 0)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .ToList();
            var objectId = pairs.FirstOrDefault(p => ObjectIdClaimTypes.Contains(p.Type, StringComparer.OrdinalIgnoreCase) && p.Value.Length is > 0 and <= 256).Value;
            return (objectId, roles);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or DecoderFallbackException)
        {
            return null;
        }
    }
}
