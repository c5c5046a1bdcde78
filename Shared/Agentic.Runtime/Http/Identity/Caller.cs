using System.Security.Claims;
using Agentic.Core.Runs;
using Microsoft.AspNetCore.Http;

namespace Agentic.Runtime.Http.Identity;

/// <summary>The roles the API knows. Approver roles beyond these are whatever the active policy names.</summary>
public static class AgenticRoles
{
    /// <summary>Submits runs; reads and terminates its own.</summary>
    public const string Requester = "requester";

    /// <summary>Reads and terminates every run; approves where the policy names it.</summary>
    public const string Operator = "operator";

    /// <summary>Kill switches, quarantines and policies; reads and terminates every run.</summary>
    public const string Admin = "admin";

    /// <summary>Every role the API itself checks.</summary>
    public static IReadOnlyList<string> All { get; } = [Requester, Operator, Admin];
}

/// <summary>The claim types every authentication scheme here produces, whatever the credential was.</summary>
public static class AgenticClaims
{
    /// <summary>The stable principal id (a key's configured principal, a token's <c>oid</c> or <c>sub</c>).</summary>
    public const string PrincipalIdType = "agentic/principal";

    /// <summary>One role.</summary>
    public const string RoleType = "agentic/role";

    /// <summary>An authenticated principal with <paramref name="id"/> and <paramref name="roles"/>.</summary>
    public static ClaimsPrincipal Principal(string scheme, string id, IEnumerable<string> roles)
    {
        var identity = new ClaimsIdentity(scheme, PrincipalIdType, RoleType);
        identity.AddClaim(new Claim(PrincipalIdType, id));
        foreach (var role in roles.Select(r => r.Trim()).Where(r => r.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            identity.AddClaim(new Claim(RoleType, role));
        }
        return new ClaimsPrincipal(identity);
    }
}

/// <summary>
/// Who is calling, as an authentication scheme verified it (never as the request says of itself). An unauthenticated
/// request is <see cref="Anonymous"/>: no id, no roles, so every role check refuses it.
/// </summary>
public sealed record Caller(string Id, IReadOnlyList<string> Roles, bool IsAuthenticated)
{
    /// <summary>The caller of a request no scheme authenticated.</summary>
    public static Caller Anonymous { get; } = new(ApprovalRules.Anonymous, [], false);

    /// <summary>The verified caller of <paramref name="context"/>.</summary>
    public static Caller Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return From(context.User);
    }

    /// <summary>The caller <paramref name="user"/> describes, when an Agentic scheme authenticated it.</summary>
    public static Caller From(ClaimsPrincipal? user)
    {
        var identity = user?.Identities.FirstOrDefault(i => i.IsAuthenticated && i.HasClaim(c => c.Type == AgenticClaims.PrincipalIdType));
        if (identity?.FindFirst(AgenticClaims.PrincipalIdType)?.Value is not { Length: > 0 } id)
        {
            return Anonymous;
        }
        return new(id, [.. identity.FindAll(AgenticClaims.RoleType).Select(c => c.Value)], true);
    }

    /// <summary>Whether the caller holds <paramref name="role"/>.</summary>
    public bool Has(string role) => Roles.Contains(role, StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the caller holds any of <paramref name="roles"/>.</summary>
    public bool HasAny(IEnumerable<string> roles) => roles.Any(Has);

    /// <summary>Operators and admins read and terminate every run.</summary>
    public bool SeesAllRuns => Has(AgenticRoles.Operator) || Has(AgenticRoles.Admin);

    /// <summary>Whether the caller may read or terminate a run requested by <paramref name="requester"/>.</summary>
    public bool MayAccessRunOf(string requester) =>
        SeesAllRuns || (Has(AgenticRoles.Requester) && PrincipalIds.Same(Id, requester));
}
