using System.Text;
using System.Text.Json;

namespace Agentic.Runtime.Http;

/// <summary>
/// The caller's roles as Azure App Service authentication states them. The platform sets <c>X-MS-CLIENT-PRINCIPAL</c>
/// (base64 of <c>{"auth_typ": ..., "name_typ": ..., "role_typ": ..., "claims": [{"typ": ..., "val": ...}]}</c>) and
/// drops any copy a client sends, so unlike <c>X-Agentic-Roles</c> it can be trusted. The Functions host reads roles
/// from here and never from a client's header.
/// </summary>
public static class AppServicePrincipal
{
    /// <summary>The header App Service authentication sets.</summary>
    public const string Header = "X-MS-CLIENT-PRINCIPAL";

    /// <summary>The header App Service authentication sets to the caller's name.</summary>
    public const string NameHeader = "X-MS-CLIENT-PRINCIPAL-NAME";

    private const int MaxHeaderLength = 16 * 1024;

    private static readonly string[] RoleClaimTypes = ["roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];

    /// <summary>The roles in <paramref name="header"/>; none when it is absent or not a principal document.</summary>
    public static IReadOnlyList<string> Roles(string? header)
    {
        if (string.IsNullOrWhiteSpace(header) || header.Length > MaxHeaderLength)
        {
            return [];
        }
        try
        {
            using var document = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header.Trim())));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return [];
            }
            var roleType = root.TryGetProperty("role_typ", out var typ) && typ.ValueKind == JsonValueKind.String ? typ.GetString() : null;
            return [.. claims.EnumerateArray()
                .Where(c => c.ValueKind == JsonValueKind.Object
                    && c.TryGetProperty("typ", out var t) && t.ValueKind == JsonValueKind.String
                    && c.TryGetProperty("val", out var v) && v.ValueKind == JsonValueKind.String
                    && (string.Equals(t.GetString(), roleType, StringComparison.Ordinal) || RoleClaimTypes.Contains(t.GetString(), StringComparer.OrdinalIgnoreCase)))
                .Select(c => c.GetProperty("val").GetString()!.Trim())
                .Where(r => r.Length > 0)
                .Distinct(StringComparer.OrdinalIgnoreCase)];
        }
        catch (Exception ex) when (ex is FormatException or JsonException or DecoderFallbackException)
        {
            return [];
        }
    }
}
