namespace Agentic.Core.Agents.Lifecycle;

/// <summary>
/// An <see cref="IAgentStore"/> in memory, with the same rules as the table store (<see cref="AgentLifecycle"/>): for
/// tests and tools that need no durable agent history.
/// </summary>
public sealed class InMemoryAgentStore(TimeProvider clock) : IAgentStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Name, string Version), StoredAgent> _versions = [];
    private readonly List<AgentEvent> _history = [];
    private ActiveAgentSet _active = ActiveAgentSet.Empty;

    /// <summary>A store on the system clock.</summary>
    public InMemoryAgentStore()
        : this(TimeProvider.System)
    {
    }

    /// <summary>How many times the active set was read: what a catalog's refreshes cost.</summary>
    public int ActiveReads { get; private set; }

    /// <summary>How many times a version's text was read.</summary>
    public int VersionReads { get; private set; }

    /// <inheritdoc />
    public Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        AgentLifecycle.ValidateSave(name, version, yaml, savedBy);
        var hash = AgentLifecycle.Hash(yaml);
        lock (_lock)
        {
            if (_versions.TryGetValue((name, version), out var existing))
            {
                return string.Equals(existing.Info.ContentHash, hash, StringComparison.Ordinal)
                    ? Task.FromResult(new AgentSaveResult(existing.Info, Created: false))
                    : throw Conflict(existing.Info, hash);
            }
            var info = new AgentVersionInfo(name, version, hash, savedBy, clock.GetUtcNow());
            _versions[(name, version)] = new StoredAgent(info, yaml);
            return Task.FromResult(new AgentSaveResult(info, Created: true));
        }
    }

    /// <inheritdoc />
    public Task<StoredAgent?> GetAsync(string name, string version, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            VersionReads++;
            return Task.FromResult(_versions.GetValueOrDefault((name, version)));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<AgentVersionInfo> list = [.. _versions.Values.Select(v => v.Info)
                .Where(v => name is null || string.Equals(v.Name, name, StringComparison.Ordinal))
                .OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];
            return Task.FromResult(list);
        }
    }

    /// <inheritdoc />
    public Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ActiveReads++;
            return Task.FromResult(_active);
        }
    }

    /// <inheritdoc />
    public Task<ActiveAgentSet> ActivateAsync(string name, string version, string by, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var stored = _versions.GetValueOrDefault((name, version))
                ?? throw new AgentNotFoundException($"Agent {AgentLifecycle.Name(name, version)} is not stored.");
            return Task.FromResult(Apply(AgentLifecycle.Activate(_active, stored.Info, by, reason, clock.GetUtcNow())));
        }
    }

    /// <inheritdoc />
    public Task<ActiveAgentSet?> DeactivateAsync(string name, string by, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var change = AgentLifecycle.Deactivate(_active, name, by, reason, clock.GetUtcNow());
            return Task.FromResult(change is null ? null : Apply(change));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<AgentEvent> events = [.. Enumerable.Reverse(_history)
                .Where(e => name is null || string.Equals(e.Name, name, StringComparison.Ordinal))
                .Take(Math.Max(0, max))];
            return Task.FromResult(events);
        }
    }

    /// <summary>The conflict every store reports for other text under a stored version.</summary>
    public static AgentConflictException Conflict(AgentVersionInfo existing, string hash)
    {
        ArgumentNullException.ThrowIfNull(existing);
        return new($"Agent {existing} is already stored with other text ({existing.ContentHash}, saved by {existing.SavedBy}); this text is {hash}. A version never changes: give the agent a new version.");
    }

    private ActiveAgentSet Apply((ActiveAgentSet Set, AgentEvent Event)? change)
    {
        if (change is { } applied)
        {
            _active = applied.Set;
            _history.Add(applied.Event);
        }
        return _active;
    }
}
