using Agentic.Core.Json;

namespace Agentic.Core.Agents.Lifecycle;

/// <summary>A stored agent version without its text: what listings show.</summary>
/// <param name="Name">The agent's name.</param>
/// <param name="Version">The version, as written in the agent's YAML.</param>
/// <param name="ContentHash">SHA-256 of the YAML text (<c>sha256:...</c>), the hash plans and their audit records name.</param>
/// <param name="SavedBy">Who stored it (<see cref="AgentLifecycle.StartupPrincipal"/> for a version a host ships).</param>
/// <param name="SavedAt">When it was stored.</param>
public sealed record AgentVersionInfo(string Name, string Version, string ContentHash, string SavedBy, DateTimeOffset SavedAt)
{
    /// <summary>Whether a host stored it at start because it ships it, rather than an admin uploading it.</summary>
    public bool Shipped => string.Equals(SavedBy, AgentLifecycle.StartupPrincipal, StringComparison.Ordinal);

    /// <summary><c>name@version</c>, as messages and the history name a version.</summary>
    public override string ToString() => AgentLifecycle.Name(Name, Version);
}

/// <summary>A stored agent version with its YAML text. Versions are immutable: (name, version) always names the same text.</summary>
/// <param name="Info">Name, version, hash and who stored it when.</param>
/// <param name="Yaml">The agent's YAML text, exactly as stored (its SHA-256 is <see cref="AgentVersionInfo.ContentHash"/>).</param>
public sealed record StoredAgent(AgentVersionInfo Info, string Yaml);

/// <summary>The answer to saving a version: the stored version, and whether this call stored it (<c>false</c>: it was already stored with the same text).</summary>
public sealed record AgentSaveResult(AgentVersionInfo Version, bool Created);

/// <summary>The uploaded version new runs of an agent use, with who activated it, when and why.</summary>
/// <param name="Name">The agent's name.</param>
/// <param name="Version">The version.</param>
/// <param name="ContentHash">SHA-256 of the version's YAML text.</param>
/// <param name="ActivatedBy">The principal who activated it.</param>
/// <param name="ActivatedAt">When.</param>
/// <param name="Reason">Why, as given.</param>
public sealed record AgentSlot(string Name, string Version, string ContentHash, string ActivatedBy, DateTimeOffset ActivatedAt, string Reason)
{
    /// <summary>Whether this slot holds <paramref name="name"/>@<paramref name="version"/>.</summary>
    public bool Is(string name, string version) => string.Equals(Name, name, StringComparison.Ordinal) && string.Equals(Version, version, StringComparison.Ordinal);

    /// <summary><c>name@version</c>.</summary>
    public override string ToString() => AgentLifecycle.Name(Name, Version);
}

/// <summary>
/// The uploaded agents in the offer, one version per name, ordered by name. Shipped agents are not in it: each host
/// has its own (the base), and an active upload of a shipped name replaces the shipped agent only while it is newer
/// (<see cref="AgentLifecycle.ShippedConflict"/>). <see cref="Sequence"/> grows by one with every change.
/// </summary>
public sealed record ActiveAgentSet(IReadOnlyList<AgentSlot> Agents, long Sequence)
{
    /// <summary>No uploaded agent offered: a store nobody activated an agent in.</summary>
    public static ActiveAgentSet Empty { get; } = new([], 0);

    /// <summary>The active version of <paramref name="name"/>, or <c>null</c>.</summary>
    public AgentSlot? Find(string name) => Agents.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
}

/// <summary>One entry of the lifecycle history: every activation and deactivation is kept.</summary>
/// <param name="Action">One of <see cref="AgentActions"/>.</param>
/// <param name="Name">The agent.</param>
/// <param name="Version">The version activated, or the one a deactivation took out of the offer.</param>
/// <param name="By">The principal who did it.</param>
/// <param name="Reason">Why, as given.</param>
/// <param name="At">When.</param>
/// <param name="Replaced"><c>name@version</c> of the uploaded version that was active before an activation, if any.</param>
public sealed record AgentEvent(string Action, string Name, string Version, string By, string Reason, DateTimeOffset At, string? Replaced = null);

/// <summary>The actions of <see cref="AgentEvent"/>.</summary>
public static class AgentActions
{
    /// <summary>A version became the one new runs of its agent use.</summary>
    public const string Activate = "activate";

    /// <summary>The uploaded agent was taken out of the offer.</summary>
    public const string Deactivate = "deactivate";
}

/// <summary>
/// Agent versions and which uploaded version of each agent is offered. Versions are immutable: saving a (name, version)
/// again with other text is refused with <see cref="AgentConflictException"/>, and every version stays stored, so a run
/// admitted under one can load it whatever is active later. Activating and deactivating are atomic changes of the
/// active set, each recorded in the history with who did it and why. A store that can not answer throws.
/// </summary>
public interface IAgentStore
{
    /// <summary>
    /// Stores a version. Saving the same (name, version) with the same text again changes nothing
    /// (<see cref="AgentSaveResult.Created"/> is <c>false</c>). The store does not load the text: callers check it first.
    /// </summary>
    /// <exception cref="AgentConflictException">The version is stored with other text.</exception>
    /// <exception cref="ArgumentException">The name or version can not be stored (<see cref="AgentLifecycle.NameProblem"/>), or the text is too large.</exception>
    Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken);

    /// <summary>A stored version with its text, or <c>null</c>.</summary>
    Task<StoredAgent?> GetAsync(string name, string version, CancellationToken cancellationToken);

    /// <summary>Every stored version (of agent <paramref name="name"/> only, when given), ordered by name then time saved.</summary>
    Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken);

    /// <summary>The active set (<see cref="ActiveAgentSet.Empty"/> when no agent was ever activated).</summary>
    Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes a stored version the one new runs of its agent use (a new name becomes offered). Activating the version
    /// that is already active changes nothing and records nothing.
    /// </summary>
    /// <exception cref="AgentNotFoundException">No such version is stored.</exception>
    Task<ActiveAgentSet> ActivateAsync(string name, string version, string by, string reason, CancellationToken cancellationToken);

    /// <summary>Takes the uploaded agent <paramref name="name"/> out of the offer; <c>null</c> when no version of it was active.</summary>
    Task<ActiveAgentSet?> DeactivateAsync(string name, string by, string reason, CancellationToken cancellationToken);

    /// <summary>The lifecycle history (of agent <paramref name="name"/> only, when given), newest first.</summary>
    Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken);
}

/// <summary>A change of agent versions the store's state or the deployment refuses: other text for a stored version, a shipped agent's name at an older version, ...</summary>
public sealed class AgentConflictException : InvalidOperationException
{
    /// <summary>A conflict described by <paramref name="message"/>.</summary>
    public AgentConflictException(string message)
        : base(message)
    {
    }

    /// <summary>A conflict described by <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public AgentConflictException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>A conflict with no description.</summary>
    public AgentConflictException()
        : this("The agent store refused the change.")
    {
    }
}

/// <summary>An agent version that is not stored.</summary>
public sealed class AgentNotFoundException : Exception
{
    /// <summary>The missing version is named in <paramref name="message"/>.</summary>
    public AgentNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>The missing version is named in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public AgentNotFoundException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>A missing version with no description.</summary>
    public AgentNotFoundException()
        : this("No such agent version is stored.")
    {
    }
}

/// <summary>
/// The rules every <see cref="IAgentStore"/> applies, as pure functions of the active set, so every store changes it the
/// same way; and the rule that keeps shipped agents the base.
/// </summary>
public static class AgentLifecycle
{
    /// <summary>The principal a host stores the agents it ships as.</summary>
    public const string StartupPrincipal = "host:startup";

    /// <summary>The longest accepted reason.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>The largest agent text stored, in characters (the largest policy's, and the upload routes' limit).</summary>
    public const int MaxYamlChars = Policy.Lifecycle.PolicyLifecycle.MaxYamlChars;

    /// <summary>The most uploaded agents offered at once: the active set is one row, read on every refresh.</summary>
    public const int MaxActive = 500;

    /// <summary><c>name@version</c>.</summary>
    public static string Name(string name, string version) => name + "@" + version;

    /// <summary>
    /// What is wrong with a name or version for storage and routes, or <c>null</c>. A name is what the loader accepts
    /// (1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit); a version 1 to 64 letters, digits,
    /// '.', '_', ':', '-' or '+', starting with a letter or digit.
    /// </summary>
    public static string? NameProblem(string? value, string what)
    {
        if (what == "name")
        {
            return value is not null && AgentLoader.IsAgentName(value) ? null
                : $"An agent name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; '{value}' is not.";
        }
        if (string.IsNullOrEmpty(value) || value.Length > 64 || !char.IsAsciiLetterOrDigit(value[0])
            || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-' or '+'))
        {
            return $"A stored agent {what} must be 1 to 64 letters, digits, '.', '_', ':', '-' or '+', starting with a letter or digit; '{value}' is not.";
        }
        return null;
    }

    /// <summary>The hash a store records for <paramref name="yaml"/>: the one <see cref="AgentLoader"/> gives the definition.</summary>
    public static string Hash(string yaml) => AgenticJson.Digest(yaml);

    /// <summary>Throws <see cref="ArgumentException"/> unless a version can be saved.</summary>
    public static void ValidateSave(string name, string version, string yaml, string savedBy)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (NameProblem(name, "name") is { } nameProblem)
        {
            throw new ArgumentException(nameProblem, nameof(name));
        }
        if (NameProblem(version, "version") is { } versionProblem)
        {
            throw new ArgumentException(versionProblem, nameof(version));
        }
        if (yaml.Length is 0 or > MaxYamlChars)
        {
            throw new ArgumentException($"A stored agent holds 1 to {MaxYamlChars} characters; this one has {yaml.Length}.", nameof(yaml));
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
    /// The active set after activating <paramref name="version"/>, with the history entry; <c>null</c> when the version
    /// is already active (nothing changes, nothing is recorded).
    /// </summary>
    /// <exception cref="AgentConflictException">A new name beyond <see cref="MaxActive"/> uploaded agents.</exception>
    public static (ActiveAgentSet Set, AgentEvent Event)? Activate(ActiveAgentSet current, AgentVersionInfo version, string by, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(version);
        ValidateChange(by, reason);
        var replaced = current.Find(version.Name);
        if (replaced?.Is(version.Name, version.Version) == true)
        {
            return null;
        }
        if (replaced is null && current.Agents.Count >= MaxActive)
        {
            throw new AgentConflictException($"{MaxActive} uploaded agents are offered already; deactivate one before offering '{version.Name}'.");
        }
        var slot = new AgentSlot(version.Name, version.Version, version.ContentHash, by, at, reason);
        var agents = current.Agents.Where(a => !string.Equals(a.Name, version.Name, StringComparison.Ordinal)).Append(slot)
            .OrderBy(a => a.Name, StringComparer.Ordinal).ToList();
        return (new ActiveAgentSet(agents, current.Sequence + 1),
            new AgentEvent(AgentActions.Activate, version.Name, version.Version, by, reason, at, replaced?.ToString()));
    }

    /// <summary>The active set without the uploaded agent <paramref name="name"/>, with the history entry; <c>null</c> when no version of it is active.</summary>
    public static (ActiveAgentSet Set, AgentEvent Event)? Deactivate(ActiveAgentSet current, string name, string by, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        ValidateChange(by, reason);
        return current.Find(name) is not { } slot
            ? null
            : (new ActiveAgentSet([.. current.Agents.Where(a => a != slot)], current.Sequence + 1),
                new AgentEvent(AgentActions.Deactivate, slot.Name, slot.Version, by, reason, at));
    }

    /// <summary>
    /// Why an uploaded <paramref name="name"/>@<paramref name="version"/> may not be offered beside the agents this host
    /// ships, or <c>null</c>: an upload may take a shipped agent's name only as a newer version of it
    /// (<see cref="CompareVersions"/>), so what a deployment ships is the floor an upload can only raise.
    /// </summary>
    public static string? ShippedConflict(AgentCatalog shipped, string name, string version)
    {
        ArgumentNullException.ThrowIfNull(shipped);
        if (!shipped.Contains(name) || shipped.Get(name).Version is not { } floor || CompareVersions(version, floor) > 0)
        {
            return null;
        }
        return $"'{name}' is an agent this deployment ships at version {floor}; an uploaded '{name}' must have a newer version than {floor}, not {version}.";
    }

    /// <summary>
    /// Orders two versions: segment by segment on '.', numerically where both segments are whole numbers and ordinally
    /// otherwise (a number before a word); when one runs out first, it is the older ("1.2" &lt; "1.2.1").
    /// </summary>
    public static int CompareVersions(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var left = a.Split('.');
        var right = b.Split('.');
        for (var i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            var x = left[i];
            var y = right[i];
            var xNumber = x.Length > 0 && x.All(char.IsAsciiDigit);
            var yNumber = y.Length > 0 && y.All(char.IsAsciiDigit);
            int order;
            if (xNumber && yNumber)
            {
                x = x.TrimStart('0');
                y = y.TrimStart('0');
                order = x.Length != y.Length ? x.Length.CompareTo(y.Length) : string.CompareOrdinal(x, y);
            }
            else
            {
                order = xNumber != yNumber ? (xNumber ? -1 : 1) : string.CompareOrdinal(x, y);
            }
            if (order != 0)
            {
                return Math.Sign(order);
            }
        }
        return left.Length.CompareTo(right.Length);
    }

    private static void ValidatePrincipal(string by, string parameter)
    {
        if (string.IsNullOrWhiteSpace(by) || by.Length > 256)
        {
            throw new ArgumentException("The principal (1 to 256 characters) is required.", parameter);
        }
    }
}
