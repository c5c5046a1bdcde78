using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Agentic.Core.Audit;

/// <summary>How a conditional append ended.</summary>
public enum AuditAppendStatus
{
    /// <summary>The record is stored at the position asked for.</summary>
    Appended,
    /// <summary>The chain's head is not the one the append expected: another writer appended first. Read the head again.</summary>
    HeadMoved,
    /// <summary>The chain holds a record with this id already (<see cref="AuditAppendResult.Existing"/>).</summary>
    IdTaken,
}

/// <summary>The answer of <see cref="IAuditStore.TryAppendAsync"/>.</summary>
public sealed record AuditAppendResult(AuditAppendStatus Status, AuditHead? Head = null, StoredAuditRecord? Existing = null);

/// <summary>
/// Where audit chains live (Azure Table Storage in both hosts; memory in tests): one chain per run plus the control
/// chain, records in sequence order, each id once. The store only keeps what it is given and refuses what would
/// overwrite; the hashing is <see cref="AuditChain"/>'s and the sequencing <see cref="AuditLog"/>'s.
/// </summary>
public interface IAuditStore
{
    /// <summary>The chain's head, or <c>null</c> for a chain with no records.</summary>
    Task<AuditHead?> GetHeadAsync(string chain, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="record"/> as the next record of <paramref name="chain"/> if its head is still
    /// <paramref name="expected"/> and no record holds its id; atomically, or not at all.
    /// </summary>
    Task<AuditAppendResult> TryAppendAsync(string chain, AuditHead? expected, StoredAuditRecord record, CancellationToken cancellationToken);

    /// <summary>The record of <paramref name="chain"/> with id <paramref name="id"/>, if any.</summary>
    Task<StoredAuditRecord?> FindAsync(string chain, string id, CancellationToken cancellationToken);

    /// <summary>The chain's records from position <paramref name="from"/> on, in the order stored (verification checks it).</summary>
    IAsyncEnumerable<StoredAuditRecord> ReadAsync(string chain, long from, CancellationToken cancellationToken);

    /// <summary>Every chain that has a head, control chain included.</summary>
    IAsyncEnumerable<string> ListChainsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every row of <paramref name="chain"/>, its head last, so a deletion cut short leaves the chain listed and
    /// is finished by the next one. Only an audit purge calls this, after the purge is on the control chain.
    /// </summary>
    Task DeleteChainAsync(string chain, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IAuditStore"/> in memory, for tests and benchmarks.</summary>
public sealed class InMemoryAuditStore : IAuditStore
{
    private readonly ConcurrentDictionary<string, Chain> _chains = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<AuditHead?> GetHeadAsync(string chain, CancellationToken cancellationToken)
    {
        if (!_chains.TryGetValue(chain, out var c))
        {
            return Task.FromResult<AuditHead?>(null);
        }
        lock (c)
        {
            return Task.FromResult(c.Head);
        }
    }

    /// <inheritdoc />
    public Task<AuditAppendResult> TryAppendAsync(string chain, AuditHead? expected, StoredAuditRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var c = _chains.GetOrAdd(chain, _ => new Chain());
        lock (c)
        {
            if (c.ById.TryGetValue(record.Id, out var existing))
            {
                return Task.FromResult(new AuditAppendResult(AuditAppendStatus.IdTaken, c.Head, existing));
            }
            if (c.Head?.Version != expected?.Version || record.Seq != c.Records.Count)
            {
                return Task.FromResult(new AuditAppendResult(AuditAppendStatus.HeadMoved, c.Head));
            }
            c.Records.Add(record);
            c.ById[record.Id] = record;
            c.Head = new AuditHead(c.Records.Count, record.Hash, c.Records.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return Task.FromResult(new AuditAppendResult(AuditAppendStatus.Appended, c.Head));
        }
    }

    /// <inheritdoc />
    public Task<StoredAuditRecord?> FindAsync(string chain, string id, CancellationToken cancellationToken)
    {
        if (!_chains.TryGetValue(chain, out var c))
        {
            return Task.FromResult<StoredAuditRecord?>(null);
        }
        lock (c)
        {
            return Task.FromResult(c.ById.GetValueOrDefault(id));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredAuditRecord> ReadAsync(string chain, long from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (!_chains.TryGetValue(chain, out var c))
        {
            yield break;
        }
        StoredAuditRecord[] records;
        lock (c)
        {
            records = [.. c.Records];
        }
        foreach (var record in records.Where(r => r.Seq >= from))
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListChainsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var name in _chains.Keys.Order(StringComparer.Ordinal))
        {
            yield return name;
        }
    }

    /// <inheritdoc />
    public Task DeleteChainAsync(string chain, CancellationToken cancellationToken)
    {
        _chains.TryRemove(chain, out _);
        return Task.CompletedTask;
    }

    /// <summary>Replaces the records of a chain as they are (for tamper tests): no hashing, no checks.</summary>
    public void Overwrite(string chain, IEnumerable<StoredAuditRecord> records)
    {
        var c = _chains.GetOrAdd(chain, _ => new Chain());
        lock (c)
        {
            c.Records.Clear();
            c.Records.AddRange(records);
            c.ById.Clear();
            foreach (var r in c.Records)
            {
                c.ById[r.Id] = r;
            }
        }
    }

    private sealed class Chain
    {
        public List<StoredAuditRecord> Records { get; } = [];

        public Dictionary<string, StoredAuditRecord> ById { get; } = new(StringComparer.Ordinal);

        public AuditHead? Head { get; set; }
    }
}
