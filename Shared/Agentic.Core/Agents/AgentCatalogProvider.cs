namespace Agentic.Core.Agents;

/// <summary>
/// Where a host gets its agents: the offer new runs are admitted against, as one consistent <see cref="AgentCatalog"/>
/// (a snapshot, replaced whole when the offer changes), and the exact definition each run was admitted with.
/// An <see cref="AgentCatalog"/> is a provider of itself (a fixed set); a host with an agent store uses
/// <see cref="Lifecycle.StoredAgentCatalog"/>, which follows what admins activate.
/// </summary>
public interface IAgentCatalogProvider
{
    /// <summary>The agents offered now, no staler than the provider's refresh interval.</summary>
    /// <exception cref="AgentCatalogUnavailableException">The offer can not be known (the store does not answer).</exception>
    ValueTask<AgentCatalog> GetAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The definition a run uses. With the <paramref name="version"/> and <paramref name="hash"/> its request recorded at
    /// admission: exactly that definition, whatever is offered now. Without them (a run admitted before requests recorded
    /// the version, or an agent built in code): the offered agent of that name, or <c>null</c> when none is offered.
    /// </summary>
    /// <exception cref="AgentUnavailableException">The recorded version can not be found.</exception>
    ValueTask<AgentDefinition?> ResolveAsync(string name, string? version, string? hash, CancellationToken cancellationToken);
}

/// <summary>The agents offered can not be known right now (the agent store does not answer); nothing is admitted on a guess.</summary>
public sealed class AgentCatalogUnavailableException : Exception
{
    /// <summary>Why, in <paramref name="message"/>.</summary>
    public AgentCatalogUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Why, in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public AgentCatalogUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>No reason given.</summary>
    public AgentCatalogUnavailableException()
        : this("The agent catalog is unavailable.")
    {
    }
}

/// <summary>The agent version a run was admitted with can not be found (not stored, or stored with other text).</summary>
public sealed class AgentUnavailableException : Exception
{
    /// <summary>Why, in <paramref name="message"/>.</summary>
    public AgentUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Why, in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public AgentUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>No reason given.</summary>
    public AgentUnavailableException()
        : this("The agent version is unavailable.")
    {
    }
}
