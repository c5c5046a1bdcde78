using Agentic.Core.Json;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy.Lifecycle;

/// <summary>A stored policy version without its text: what listings show.</summary>
/// <param name="Id">The policy's id.</param>
/// <param name="Version">The version, as written in the policy.</param>
/// <param name="ContentHash">SHA-256 of the YAML text (<c>sha256:...</c>), the same hash decisions record.</param>
/// <param name="SavedBy">Who stored it.</param>
/// <param name="SavedAt">When it was stored.</param>
public sealed record PolicyVersionInfo(string Id, string Version, string ContentHash, string SavedBy, DateTimeOffset SavedAt)
{
    /// <summary><c>id@version</c>, as messages and the history name a version.</summary>
    public override string ToString() => PolicyLifecycle.Name(Id, Version);
}

/// <summary>A stored policy version with its YAML text. Versions are immutable: (id, version) always names the same text.</summary>
/// <param name="Info">Id, version, hash and who stored it when.</param>
/// <param name="Yaml">The policy's YAML text, exactly as stored (its SHA-256 is <see cref="PolicyVersionInfo.ContentHash"/>).</param>
public sealed record StoredPolicy(PolicyVersionInfo Info, string Yaml);

/// <summary>The answer to saving a version: the stored version, and whether this call stored it (<c>false</c>: it was already stored with the same text).</summary>
public sealed record PolicySaveResult(PolicyVersionInfo Version, bool Created);

/// <summary>A policy version in an active slot (enforced, shadow, or an earlier enforced one kept for rollback), with who put it there, when and why.</summary>
/// <param name="Id">The policy's id.</param>
/// <param name="Version">The version.</param>
/// <param name="ContentHash">SHA-256 of the version's YAML text.</param>
/// <param name="ActivatedBy">The principal who activated it (<c>host:startup</c> for the start-up bootstrap).</param>
/// <param name="ActivatedAt">When.</param>
/// <param name="Reason">Why, as given.</param>
public sealed record PolicySlot(string Id, string Version, string ContentHash, string ActivatedBy, DateTimeOffset ActivatedAt, string Reason)
{
    /// <summary>Whether this slot holds <paramref name="id"/>@<paramref name="version"/>.</summary>
    public bool Is(string id, string version) => string.Equals(Id, id, StringComparison.Ordinal) && string.Equals(Version, version, StringComparison.Ordinal);

    /// <summary><c>id@version</c>.</summary>
    public override string ToString() => PolicyLifecycle.Name(Id, Version);
}

/// <summary>
/// Which policy versions are active: the enforced one, optionally one in shadow (log-only) mode, and the earlier
/// enforced versions a rollback returns to (most recent first). <see cref="Sequence"/> grows by one with every change.
/// </summary>
public sealed record ActivePolicySet(PolicySlot? Enforced, PolicySlot? Shadow, IReadOnlyList<PolicySlot> Previous, long Sequence)
{
    /// <summary>Nothing active yet: a store nobody bootstrapped.</summary>
    public static ActivePolicySet Empty { get; } = new(null, null, [], 0);
}

/// <summary>One entry of the lifecycle history: every activation, shadow clear and rollback is kept.</summary>
/// <param name="Action">One of <see cref="PolicyActions"/>.</param>
/// <param name="Id">The policy the action put in (or, for a shadow clear, took out of) its slot.</param>
/// <param name="Version">Its version.</param>
/// <param name="Mode">The slot: enforce or shadow.</param>
/// <param name="By">The principal who did it.</param>
/// <param name="Reason">Why, as given.</param>
/// <param name="At">When.</param>
/// <param name="Replaced"><c>id@version</c> of the version that held the slot before, if any.</param>
public sealed record PolicyEvent(string Action, string Id, string Version, PolicyMode Mode, string By, string Reason, DateTimeOffset At, string? Replaced = null);

/// <summary>The actions of <see cref="PolicyEvent"/>.</summary>
public static class PolicyActions
{
    /// <summary>A version was made the enforced or the shadow policy.</summary>
    public const string Activate = "activate";

    /// <summary>The shadow policy was taken out of its slot.</summary>
    public const string ClearShadow = "clear-shadow";

    /// <summary>The previously enforced version was made the enforced policy again.</summary>
    public const string Rollback = "rollback";
}

/// <summary>
/// Policy versions and which of them are active. Versions are immutable: saving an (id, version) again with other
/// text is refused with <see cref="PolicyConflictException"/>. Activating, clearing the shadow and rolling back are
/// atomic changes of the active set, each recorded in the history with who did it and why. A store that can not
/// answer throws; the policy provider then throws too, and the gate fails closed.
/// </summary>
public interface IPolicyStore
{
    /// <summary>
    /// Stores a version. Saving the same (id, version) with the same text again changes nothing
    /// (<see cref="PolicySaveResult.Created"/> is <c>false</c>). The store does not compile the text: callers load it first.
    /// </summary>
    /// <exception cref="PolicyConflictException">The version is stored with other text.</exception>
    /// <exception cref="ArgumentException">The id or version can not be stored (see <see cref="PolicyLifecycle.NameProblem"/>), or the text is too large.</exception>
    Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken);

    /// <summary>A stored version with its text, or <c>null</c>.</summary>
    Task<StoredPolicy?> GetAsync(string id, string version, CancellationToken cancellationToken);

    /// <summary>Every stored version (of policy <paramref name="id"/> only, when given), ordered by id then time saved.</summary>
    Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken);

    /// <summary>The active set (<see cref="ActivePolicySet.Empty"/> when nothing was ever activated).</summary>
    Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes a stored version the enforced or the shadow policy. Enforcing a new version keeps the one it replaces for
    /// <see cref="RollbackAsync"/>; enforcing the current shadow version clears the shadow slot. Activating the version
    /// that already holds the slot changes nothing and records nothing.
    /// </summary>
    /// <exception cref="PolicyNotFoundException">No such version is stored.</exception>
    /// <exception cref="PolicyConflictException">Shadowing the enforced version.</exception>
    Task<ActivePolicySet> ActivateAsync(string id, string version, PolicyMode mode, string by, string reason, CancellationToken cancellationToken);

    /// <summary>Takes the shadow policy out of its slot; <c>null</c> when there was none.</summary>
    Task<ActivePolicySet?> ClearShadowAsync(string by, string reason, CancellationToken cancellationToken);

    /// <summary>Makes the previously enforced version the enforced policy again (repeated rollbacks go further back).</summary>
    /// <exception cref="PolicyConflictException">There is no previous version.</exception>
    Task<ActivePolicySet> RollbackAsync(string by, string reason, CancellationToken cancellationToken);

    /// <summary>The lifecycle history, newest first.</summary>
    Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken);
}

/// <summary>A change of policy versions the store's state refuses: other text for a stored version, a rollback with nothing to return to, ...</summary>
public sealed class PolicyConflictException : InvalidOperationException
{
    /// <summary>A conflict described by <paramref name="message"/>.</summary>
    public PolicyConflictException(string message)
        : base(message)
    {
    }

    /// <summary>A conflict described by <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public PolicyConflictException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>A conflict with no description.</summary>
    public PolicyConflictException()
        : this("The policy store refused the change.")
    {
    }
}

/// <summary>A policy version that is not stored.</summary>
public sealed class PolicyNotFoundException : Exception
{
    /// <summary>The missing version is named in <paramref name="message"/>.</summary>
    public PolicyNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>The missing version is named in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public PolicyNotFoundException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>A missing version with no description.</summary>
    public PolicyNotFoundException()
        : this("No such policy version is stored.")
    {
    }
}

/// <summary>
/// The rules every <see cref="IPolicyStore"/> applies, as pure functions of the active set, so every store changes it
/// the same way: validation, activation, shadow clear and rollback.
/// </summary>
public static class PolicyLifecycle
{
    /// <summary>The principal the start-up bootstrap activates policies as.</summary>
    public const string StartupPrincipal = "host:startup";

    /// <summary>The longest accepted reason.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>The longest accepted id or version.</summary>
    public const int MaxNameLength = 128;

    /// <summary>The largest policy text stored, in characters. Policies are small; this leaves room for hundreds of rules.</summary>
    public const int MaxYamlChars = 60 * 1024;

    /// <summary>How many earlier enforced versions the active set keeps for rollback.</summary>
    public const int MaxPrevious = 20;

    /// <summary><c>id@version</c>.</summary>
    public static string Name(string id, string version) => id + "@" + version;

    /// <summary>
    /// What is wrong with an id or version for storage and routes, or <c>null</c>: 1 to 128 letters, digits, '.', '_',
    /// ':', '-' or '+', starting with a letter or digit.
    /// </summary>
    public static string? NameProblem(string? value, string what)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxNameLength || !char.IsAsciiLetterOrDigit(value[0])
            || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-' or '+'))
        {
            return $"A policy {what} must be 1 to {MaxNameLength} letters, digits, '.', '_', ':', '-' or '+', starting with a letter or digit; '{value}' is not.";
        }
        return null;
    }

    /// <summary>The hash a store records for <paramref name="yaml"/>: the one <see cref="PolicyLoader"/> gives the compiled policy.</summary>
    public static string Hash(string yaml) => AgenticJson.Digest(yaml);

    /// <summary>Throws <see cref="ArgumentException"/> unless a version can be saved.</summary>
    public static void ValidateSave(string id, string version, string yaml, string savedBy)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (NameProblem(id, "id") is { } idProblem)
        {
            throw new ArgumentException(idProblem, nameof(id));
        }
        if (NameProblem(version, "version") is { } versionProblem)
        {
            throw new ArgumentException(versionProblem, nameof(version));
        }
        if (yaml.Length is 0 or > MaxYamlChars)
        {
            throw new ArgumentException($"A stored policy holds 1 to {MaxYamlChars} characters; this one has {yaml.Length}.", nameof(yaml));
        }
        ValidatePrincipal(savedBy, nameof(savedBy));
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the principal and reason of a change are acceptable.</summary>
    public static void ValidateChange(string by, string reason)
    {
        ValidatePrincipal(by, nameof(by));
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"A reason of 1 to {MaxReasonLength} characters is required.", nameof(reason));
        }
    }

    /// <summary>
    /// The active set after activating <paramref name="version"/> in <paramref name="mode"/>, with the history entry;
    /// <c>null</c> when the version already holds that slot (nothing changes, nothing is recorded).
    /// </summary>
    /// <exception cref="PolicyConflictException">Shadowing the enforced version.</exception>
    public static (ActivePolicySet Set, PolicyEvent Event)? Activate(ActivePolicySet current, PolicyVersionInfo version, PolicyMode mode, string by, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(version);
        ValidateChange(by, reason);
        var slot = new PolicySlot(version.Id, version.Version, version.ContentHash, by, at, reason);
        if (mode == PolicyMode.Shadow)
        {
            if (current.Shadow?.Is(version.Id, version.Version) == true)
            {
                return null;
            }
            if (current.Enforced?.Is(version.Id, version.Version) == true)
            {
                throw new PolicyConflictException($"{version} is the enforced policy; a policy can not shadow itself.");
            }
            return (current with { Shadow = slot, Sequence = current.Sequence + 1 },
                new PolicyEvent(PolicyActions.Activate, version.Id, version.Version, PolicyMode.Shadow, by, reason, at, current.Shadow?.ToString()));
        }
        if (current.Enforced?.Is(version.Id, version.Version) == true)
        {
            return null;
        }
        return (Enforce(current, slot), new PolicyEvent(PolicyActions.Activate, version.Id, version.Version, PolicyMode.Enforce, by, reason, at, current.Enforced?.ToString()));
    }

    /// <summary>The active set without its shadow policy, with the history entry; <c>null</c> when there is no shadow policy.</summary>
    public static (ActivePolicySet Set, PolicyEvent Event)? ClearShadow(ActivePolicySet current, string by, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        ValidateChange(by, reason);
        return current.Shadow is not { } shadow
            ? null
            : (current with { Shadow = null, Sequence = current.Sequence + 1 },
                new PolicyEvent(PolicyActions.ClearShadow, shadow.Id, shadow.Version, PolicyMode.Shadow, by, reason, at));
    }

    /// <summary>The active set with the previously enforced version enforced again, with the history entry.</summary>
    /// <exception cref="PolicyConflictException">There is no previous version.</exception>
    public static (ActivePolicySet Set, PolicyEvent Event) Rollback(ActivePolicySet current, string by, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        ValidateChange(by, reason);
        if (current.Enforced is null || current.Previous.Count == 0)
        {
            throw new PolicyConflictException(current.Enforced is null
                ? "No policy is enforced, so there is nothing to roll back."
                : $"{current.Enforced} is the only version ever enforced (of the last {MaxPrevious}); there is no previous version to roll back to.");
        }
        var back = current.Previous[0];
        var restored = new PolicySlot(back.Id, back.Version, back.ContentHash, by, at, reason);
        var set = new ActivePolicySet(
            restored,
            current.Shadow?.Is(back.Id, back.Version) == true ? null : current.Shadow,
            [.. current.Previous.Skip(1)],
            current.Sequence + 1);
        return (set, new PolicyEvent(PolicyActions.Rollback, back.Id, back.Version, PolicyMode.Enforce, by, reason, at, current.Enforced.ToString()));
    }

    private static ActivePolicySet Enforce(ActivePolicySet current, PolicySlot slot)
    {
        var previous = current.Enforced is null ? current.Previous : [current.Enforced, .. current.Previous.Take(MaxPrevious - 1)];
        var shadow = current.Shadow?.Is(slot.Id, slot.Version) == true ? null : current.Shadow;
        return new ActivePolicySet(slot, shadow, previous, current.Sequence + 1);
    }

    private static void ValidatePrincipal(string by, string parameter)
    {
        if (string.IsNullOrWhiteSpace(by) || by.Length > 256)
        {
            throw new ArgumentException("The principal (1 to 256 characters) is required.", parameter);
        }
    }
}
