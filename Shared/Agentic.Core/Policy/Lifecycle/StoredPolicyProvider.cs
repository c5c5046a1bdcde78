using System.Collections.Concurrent;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy.Lifecycle;

/// <summary>
/// The gate's policies from an <see cref="IPolicyStore"/>: reads the active set at most once per refresh interval,
/// compiles each version once (cached by content hash) and answers the compiled enforced and shadow policies.
/// When the store can not answer, nothing is active, or a stored version no longer compiles or no longer matches its
/// hash, it throws <see cref="PolicyUnavailableException"/> and the gate fails closed. A failed refresh is never
/// papered over with the last good answer: a policy change must reach the gate within the interval, or nothing does.
/// </summary>
public sealed class StoredPolicyProvider : IPolicyProvider, IDisposable
{
    // Enough for the active pair, a rollback and a few experiments; beyond it the cache starts over.
    private const int MaxCompiled = 16;

    private readonly IPolicyStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _refreshInterval;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly ConcurrentDictionary<string, CompiledPolicy> _compiled = new(StringComparer.Ordinal);
    private Snapshot? _current;

    /// <summary>A provider over <paramref name="store"/> that reads the active set at most every <paramref name="refreshInterval"/> (zero: on every call).</summary>
    public StoredPolicyProvider(IPolicyStore store, TimeProvider clock, TimeSpan refreshInterval)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(refreshInterval, TimeSpan.Zero);
        _store = store;
        _clock = clock;
        _refreshInterval = refreshInterval;
    }

    /// <summary>The sequence number of the active set last read, or <c>null</c> before the first read.</summary>
    public long? Sequence => Volatile.Read(ref _current)?.Sequence;

    /// <inheritdoc />
    public async ValueTask<ActivePolicies> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(Volatile.Read(ref _current)) is { } cached)
        {
            return cached;
        }
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while this one waited.
            if (Fresh(Volatile.Read(ref _current)) is { } refreshed)
            {
                return refreshed;
            }
            var readAt = _clock.GetTimestamp();
            ActivePolicySet active;
            try
            {
                active = await _store.GetActiveAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new PolicyUnavailableException($"The policy store could not answer ({ex.GetType().Name}: {ex.Message}).", ex);
            }
            if (active.Enforced is null)
            {
                throw new PolicyUnavailableException("No policy is active: the store holds no enforced policy (the host's start-up bootstrap stores and activates one).");
            }
            var enforced = await CompileAsync(active.Enforced, cancellationToken);
            var shadow = active.Shadow is null ? null : await CompileAsync(active.Shadow, cancellationToken);
            var previous = Volatile.Read(ref _current)?.Policies;
            var policies = previous is not null && ReferenceEquals(previous.Enforced, enforced) && ReferenceEquals(previous.Shadow, shadow)
                ? previous
                : new ActivePolicies(enforced, shadow);
            Volatile.Write(ref _current, new Snapshot(policies, readAt, active.Sequence));
            return policies;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _refresh.Dispose();

    private ActivePolicies? Fresh(Snapshot? snapshot) =>
        snapshot is not null && _refreshInterval > TimeSpan.Zero && _clock.GetElapsedTime(snapshot.ReadAt) < _refreshInterval ? snapshot.Policies : null;

    private async Task<CompiledPolicy> CompileAsync(PolicySlot slot, CancellationToken cancellationToken)
    {
        if (_compiled.TryGetValue(slot.ContentHash, out var cached))
        {
            return cached;
        }
        StoredPolicy? stored;
        try
        {
            stored = await _store.GetAsync(slot.Id, slot.Version, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new PolicyUnavailableException($"The policy store could not answer for {slot} ({ex.GetType().Name}: {ex.Message}).", ex);
        }
        if (stored is null)
        {
            throw new PolicyUnavailableException($"The active policy {slot} is not stored.");
        }
        if (!string.Equals(stored.Info.ContentHash, slot.ContentHash, StringComparison.Ordinal) || !string.Equals(PolicyLifecycle.Hash(stored.Yaml), slot.ContentHash, StringComparison.Ordinal))
        {
            throw new PolicyUnavailableException($"The stored text of {slot} does not have the hash it was activated with ({slot.ContentHash}): it was changed.");
        }
        CompiledPolicy compiled;
        try
        {
            compiled = PolicyLoader.Load(stored.Yaml, slot.ToString());
        }
        catch (PolicyLoadException ex)
        {
            throw new PolicyUnavailableException($"The active policy {slot} no longer compiles: {ex.Message}", ex);
        }
        if (!slot.Is(compiled.Id, compiled.Version))
        {
            throw new PolicyUnavailableException($"The text stored as {slot} declares {PolicyLifecycle.Name(compiled.Id, compiled.Version)}.");
        }
        if (_compiled.Count >= MaxCompiled)
        {
            _compiled.Clear();
        }
        return _compiled.GetOrAdd(slot.ContentHash, compiled);
    }

    private sealed record Snapshot(ActivePolicies Policies, long ReadAt, long Sequence);
}

/// <summary>The active policies can not be known right now; the gate fails closed.</summary>
public sealed class PolicyUnavailableException : Exception
{
    /// <summary>Why, in <paramref name="message"/>.</summary>
    public PolicyUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Why, in <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public PolicyUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>No reason given.</summary>
    public PolicyUnavailableException()
        : this("The active policies are unavailable.")
    {
    }
}
