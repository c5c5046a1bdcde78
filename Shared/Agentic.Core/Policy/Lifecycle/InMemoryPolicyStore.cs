using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy.Lifecycle;

/// <summary>
/// An <see cref="IPolicyStore"/> in memory, with the same rules as the table store (<see cref="PolicyLifecycle"/>):
/// for tests, tools and single-process hosts that need no durable policy history.
/// </summary>
public sealed class InMemoryPolicyStore(TimeProvider clock) : IPolicyStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Id, string Version), StoredPolicy> _versions = [];
    private readonly List<PolicyEvent> _history = [];
    private ActivePolicySet _active = ActivePolicySet.Empty;

    /// <summary>A store on the system clock.</summary>
    public InMemoryPolicyStore()
        : this(TimeProvider.System)
    {
    }

    /// <inheritdoc />
    public Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateSave(id, version, yaml, savedBy);
        var hash = PolicyLifecycle.Hash(yaml);
        lock (_lock)
        {
            if (_versions.TryGetValue((id, version), out var existing))
            {
                return string.Equals(existing.Info.ContentHash, hash, StringComparison.Ordinal)
                    ? Task.FromResult(new PolicySaveResult(existing.Info, Created: false))
                    : throw Conflict(existing.Info, hash);
            }
            var info = new PolicyVersionInfo(id, version, hash, savedBy, clock.GetUtcNow());
            _versions[(id, version)] = new StoredPolicy(info, yaml);
            return Task.FromResult(new PolicySaveResult(info, Created: true));
        }
    }

    /// <inheritdoc />
    public Task<StoredPolicy?> GetAsync(string id, string version, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_versions.GetValueOrDefault((id, version)));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<PolicyVersionInfo> list = [.. _versions.Values.Select(v => v.Info)
                .Where(v => id is null || string.Equals(v.Id, id, StringComparison.Ordinal))
                .OrderBy(v => v.Id, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];
            return Task.FromResult(list);
        }
    }

    /// <inheritdoc />
    public Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_active);
        }
    }

    /// <inheritdoc />
    public Task<ActivePolicySet> ActivateAsync(string id, string version, PolicyMode mode, string by, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var stored = _versions.GetValueOrDefault((id, version))
                ?? throw new PolicyNotFoundException($"Policy {PolicyLifecycle.Name(id, version)} is not stored.");
            return Task.FromResult(Apply(PolicyLifecycle.Activate(_active, stored.Info, mode, by, reason, clock.GetUtcNow())));
        }
    }

    /// <inheritdoc />
    public Task<ActivePolicySet?> ClearShadowAsync(string by, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var change = PolicyLifecycle.ClearShadow(_active, by, reason, clock.GetUtcNow());
            return Task.FromResult(change is null ? null : Apply(change));
        }
    }

    /// <inheritdoc />
    public Task<ActivePolicySet> RollbackAsync(string by, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Apply(PolicyLifecycle.Rollback(_active, by, reason, clock.GetUtcNow())));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<PolicyEvent> events = [.. Enumerable.Reverse(_history).Take(Math.Max(0, max))];
            return Task.FromResult(events);
        }
    }

    internal static PolicyConflictException Conflict(PolicyVersionInfo existing, string hash) =>
        new($"Policy {existing} is already stored with other text ({existing.ContentHash}, saved by {existing.SavedBy}); this text is {hash}. A version never changes: give the policy a new version.");

    private ActivePolicySet Apply((ActivePolicySet Set, PolicyEvent Event)? change)
    {
        if (change is { } applied)
        {
            _active = applied.Set;
            _history.Add(applied.Event);
        }
        return _active;
    }
}
