using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Core.Agents.Lifecycle;

/// <summary>
/// A host's agents from its shipped catalog and an <see cref="IAgentStore"/>: the shipped (or configured) agents are the
/// base, and each uploaded agent in the store's active set is added, or replaces the shipped agent of its name while it
/// is a newer version (<see cref="AgentLifecycle.ShippedConflict"/>). The active set is read at most once per refresh
/// interval; when its sequence changed, the new catalog is built aside and swapped in whole, so a reader holds either the
/// old offer or the new one, never a mix. An active upload that no longer loads or checks on this host (a tool it
/// lists is gone) is left out and logged; the rest of the offer stands. When the store can not answer,
/// <see cref="GetAsync"/> throws <see cref="AgentCatalogUnavailableException"/> rather than answer an offer older than
/// the interval. <see cref="ResolveAsync"/> answers the exact version a run was admitted with, loading it from the store
/// on demand (every version stays stored), so a run plans and perceives with it whatever is activated later.
/// </summary>
public sealed class StoredAgentCatalog : IAgentCatalogProvider, IDisposable
{
    // Enough for the versions runs in flight use; beyond it the cache starts over.
    private const int MaxLoaded = 64;

    private readonly AgentCatalog _shipped;
    private readonly IAgentStore _store;
    private readonly AgentChecks _checks;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _refreshInterval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly ConcurrentDictionary<string, Loaded> _loaded = new(StringComparer.Ordinal);
    private Snapshot? _current;

    /// <summary>
    /// A catalog over <paramref name="shipped"/> and <paramref name="store"/> that reads the active set at most every
    /// <paramref name="refreshInterval"/> (zero: on every call), checking each upload with <paramref name="checks"/>.
    /// </summary>
    public StoredAgentCatalog(AgentCatalog shipped, IAgentStore store, AgentChecks checks, TimeProvider clock, TimeSpan refreshInterval, ILogger<StoredAgentCatalog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(shipped);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(refreshInterval, TimeSpan.Zero);
        _shipped = shipped;
        _store = store;
        _checks = checks;
        _clock = clock;
        _refreshInterval = refreshInterval;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The agents this host ships (or is configured with): the base of every offer.</summary>
    public AgentCatalog Shipped => _shipped;

    /// <summary>The sequence number of the active set last read, or <c>null</c> before the first read.</summary>
    public long? Sequence => Volatile.Read(ref _current)?.Sequence;

    /// <inheritdoc />
    public async ValueTask<AgentCatalog> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(Volatile.Read(ref _current)) is { } cached)
        {
            return cached;
        }
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while this one waited.
            var previous = Volatile.Read(ref _current);
            if (Fresh(previous) is { } refreshed)
            {
                return refreshed;
            }
            var readAt = _clock.GetTimestamp();
            var active = await UnlessUnavailable(() => _store.GetActiveAsync(cancellationToken), "the active agents", cancellationToken);
            var catalog = previous is not null && previous.Sequence == active.Sequence ? previous.Catalog : await BuildAsync(active, cancellationToken);
            Volatile.Write(ref _current, new Snapshot(catalog, readAt, active.Sequence));
            return catalog;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<AgentDefinition?> ResolveAsync(string name, string? version, string? hash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (version is null)
        {
            return (await GetAsync(cancellationToken)).Find(name);
        }
        if (Volatile.Read(ref _current)?.Catalog.Find(name) is { } offered && AgentCatalog.Matches(offered, version, hash))
        {
            return offered;
        }
        if (_shipped.Find(name) is { } shipped && AgentCatalog.Matches(shipped, version, hash))
        {
            return shipped;
        }
        return (await LoadAsync(name, version, hash, cancellationToken)).Definition;
    }

    /// <inheritdoc />
    public void Dispose() => _refresh.Dispose();

    private AgentCatalog? Fresh(Snapshot? snapshot) =>
        snapshot is not null && _refreshInterval > TimeSpan.Zero && _clock.GetElapsedTime(snapshot.ReadAt) < _refreshInterval ? snapshot.Catalog : null;

    private async Task<AgentCatalog> BuildAsync(ActiveAgentSet active, CancellationToken cancellationToken)
    {
        var agents = _shipped.Agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (var slot in active.Agents)
        {
            if (AgentLifecycle.ShippedConflict(_shipped, slot.Name, slot.Version) is { } superseded)
            {
                StoredAgentLogs.NotOffered(_logger, slot.ToString(), superseded);
                continue;
            }
            Loaded loaded;
            try
            {
                loaded = await UnlessUnavailable(() => LoadAsync(slot.Name, slot.Version, slot.ContentHash, cancellationToken), slot.ToString(), cancellationToken);
            }
            catch (AgentUnavailableException ex)
            {
                StoredAgentLogs.NotOffered(_logger, slot.ToString(), ex.Message);
                continue;
            }
            if (_checks.Check([loaded.Definition]) is { Count: > 0 } problems)
            {
                var reason = string.Join("; ", problems);
                StoredAgentLogs.NotOffered(_logger, slot.ToString(), reason);
                continue;
            }
            agents[slot.Name] = loaded.Definition with
            {
                Upload = new AgentUpload(loaded.Info.SavedBy, loaded.Info.SavedAt, slot.ActivatedBy, slot.ActivatedAt, slot.Reason),
            };
        }
        var catalog = new AgentCatalog(agents.Values) { Files = _shipped.Files };
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var offered = string.Join(", ", catalog.Agents.Select(a => AgentLifecycle.Name(a.Name, a.Version ?? "-")));
            StoredAgentLogs.Refreshed(_logger, active.Sequence, offered);
        }
        return catalog;
    }

    // A version's text never changes, so a loaded version is kept by its hash; a read is the store's only on a miss.
    private async Task<Loaded> LoadAsync(string name, string version, string? hash, CancellationToken cancellationToken)
    {
        var label = AgentLifecycle.Name(name, version);
        if (hash is not null && _loaded.TryGetValue(hash, out var hit) && AgentCatalog.Matches(hit.Definition, version, hash) && hit.Definition.Name == name)
        {
            return hit;
        }
        var stored = await _store.GetAsync(name, version, cancellationToken)
            ?? throw new AgentUnavailableException($"Agent {label} is not stored.");
        var actual = AgentLifecycle.Hash(stored.Yaml);
        if (!string.Equals(actual, stored.Info.ContentHash, StringComparison.Ordinal))
        {
            throw new AgentUnavailableException($"The stored text of agent {label} does not have the hash it was stored with ({stored.Info.ContentHash}): it was changed.");
        }
        if (hash is not null && !string.Equals(actual, hash, StringComparison.Ordinal))
        {
            throw new AgentUnavailableException($"Agent {label} is stored with text {actual}, not the {hash} wanted.");
        }
        AgentDefinition definition;
        try
        {
            // An upload names the deployment's data contracts, as the shipped (or configured) agents do.
            definition = AgentLoader.Load(stored.Yaml, label, readFile: _shipped.Files);
        }
        catch (AgentLoadException ex)
        {
            throw new AgentUnavailableException($"Agent {label} no longer loads: {ex.Message}", ex);
        }
        if (definition.Name != name || definition.Version != version)
        {
            throw new AgentUnavailableException($"The text stored as agent {label} declares {AgentLifecycle.Name(definition.Name, definition.Version ?? "-")}.");
        }
        if (_loaded.Count >= MaxLoaded)
        {
            _loaded.Clear();
        }
        return _loaded.GetOrAdd(actual, new Loaded(definition, stored.Info));
    }

    private static async Task<T> UnlessUnavailable<T>(Func<Task<T>> read, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (ex is not AgentUnavailableException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw new AgentCatalogUnavailableException($"The agent store could not answer for {what} ({ex.GetType().Name}: {ex.Message}).", ex);
        }
    }

    private sealed record Snapshot(AgentCatalog Catalog, long ReadAt, long Sequence);

    private sealed record Loaded(AgentDefinition Definition, AgentVersionInfo Info);
}

internal static partial class StoredAgentLogs
{
    [LoggerMessage(EventId = 47, Level = LogLevel.Warning, Message = "Uploaded agent {Agent} is not offered on this host: {Reason}")]
    public static partial void NotOffered(ILogger logger, string agent, [Telemetry.SecretData] string reason);

    [LoggerMessage(EventId = 48, Level = LogLevel.Information, Message = "Agent catalog {Sequence} offered: {Agents}")]
    public static partial void Refreshed(ILogger logger, long sequence, string agents);
}
