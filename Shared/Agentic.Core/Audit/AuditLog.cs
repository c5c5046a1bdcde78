using System.Collections.Concurrent;
using System.Diagnostics;

namespace Agentic.Core.Audit;

/// <summary>What a repeated id with other content does.</summary>
public enum AuditConflict
{
    /// <summary>The stored record stands and the write fails with <see cref="AuditConflictException"/> (decisions, approvals).</summary>
    Refuse,
    /// <summary>
    /// The new fact is appended as an amendment (<c>{id}~2</c>, <c>~3</c>, ...): for what may truthfully happen twice
    /// with different results, such as a read-only probe executed again after a redelivery.
    /// </summary>
    Amend,
}

/// <summary>The record an append stored or found.</summary>
public sealed record AuditAppended(string Chain, StoredAuditRecord Record, bool Written);

/// <summary>
/// Appends to audit chains: assigns the next position, hashes the record into the chain and stores it with a
/// conditional write, so concurrent writers (two hosts, two activities of one run) never fork a chain. Idempotent: a
/// record whose id is stored already with the same content is found, not written again; with other content it is
/// refused (<see cref="AuditConflict.Refuse"/>) or amended (<see cref="AuditConflict.Amend"/>). Heads are cached per
/// chain, so a writer that appends to a chain it wrote last costs one storage request. The records this process stored
/// lately are kept too (<see cref="RecentlyStored{TKey, TValue}"/>: at most <see cref="MaxRecentRecords"/>, for ten minutes),
/// so a check that a record is in its chain soon after this process appended it (the act activity's write-ahead check of
/// its gate decision) reads nothing: a record is immutable once its append succeeded. Any other record is read from the
/// store.
/// </summary>
public sealed class AuditLog(IAuditStore store, AuditHeads heads)
{
    private const int MaxAmendments = 20;

    // Writers that keep finding the head moved are many writers on one chain; a run has a handful at most.
    private const int MaxHeadMoves = 200;
    private const int MaxCachedHeads = 10_000;

    /// <summary>How many of the records this process stored lately are kept for <see cref="FindAsync"/>.</summary>
    public const int MaxRecentRecords = 4096;

    private readonly ConcurrentDictionary<string, AuditHead> _cache = new(StringComparer.Ordinal);
    private readonly RecentlyStored<(string Chain, string Id), StoredAuditRecord> _recent = new(MaxRecentRecords);

    /// <summary>The store underneath.</summary>
    public IAuditStore Store => store;

    /// <summary>Appends <paramref name="entry"/> to <paramref name="chain"/>, or finds it there.</summary>
    public async Task<AuditAppended> AppendAsync(string chain, AuditEntry entry, AuditConflict onConflict, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        ArgumentNullException.ThrowIfNull(entry);
        var started = Stopwatch.GetTimestamp();
        string? fingerprint = null;
        var id = entry.Id;
        for (var amendment = 1; ; amendment++)
        {
            var head = _cache.TryGetValue(chain, out var cached) ? cached : await store.GetHeadAsync(chain, cancellationToken);
            for (var moves = 0; ; moves++)
            {
                if (moves >= MaxHeadMoves)
                {
                    throw new InvalidOperationException($"Audit chain '{chain}': the head moved {MaxHeadMoves} times while appending '{id}'.");
                }
                var seq = head?.Length ?? 0;
                var content = AuditChain.Content(chain, seq, entry with { Id = id });
                var record = new StoredAuditRecord(seq, id, content, AuditChain.Link(head?.Hash ?? AuditChain.Genesis, content));
                var result = await store.TryAppendAsync(chain, head, record, cancellationToken);
                if (result.Status == AuditAppendStatus.Appended)
                {
                    Remember(chain, result.Head!);
                    _recent.Remember((chain, record.Id), record);
                    heads.Appended(chain, result.Head!);
                    AuditMetrics.Appended(Stopwatch.GetElapsedTime(started));
                    return new AuditAppended(chain, record, Written: true);
                }
                if (result.Status == AuditAppendStatus.IdTaken)
                {
                    if (result.Head is { } current)
                    {
                        Remember(chain, current);
                    }
                    fingerprint ??= AuditChain.Fingerprint(entry.Kind, entry.DerivedFrom, entry.Data);
                    var stored = AuditChain.Fingerprint(result.Existing!);
                    if (stored == fingerprint)
                    {
                        return new AuditAppended(chain, result.Existing!, Written: false);
                    }
                    if (onConflict == AuditConflict.Refuse || amendment >= MaxAmendments)
                    {
                        AuditMetrics.Conflict();
                        throw new AuditConflictException(chain, id, stored, fingerprint);
                    }
                    id = $"{entry.Id}~{(amendment + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}";
                    break;
                }
                // Another writer moved the head: read it and hash against it.
                head = await store.GetHeadAsync(chain, cancellationToken);
                Remember(chain, head);
            }
        }
    }

    /// <summary>The record <paramref name="id"/> of <paramref name="chain"/>, if stored: from memory when this process stored it lately.</summary>
    public async Task<StoredAuditRecord?> FindAsync(string chain, string id, CancellationToken cancellationToken) =>
        _recent.TryGet((chain, id), out var record) ? record : await store.FindAsync(chain, id, cancellationToken);

    /// <summary>Drops what is kept of a chain that was deleted: its head and its records.</summary>
    public void Forget(string chain)
    {
        _cache.TryRemove(chain, out _);
        _recent.Forget(k => k.Chain == chain);
    }


    private void Remember(string chain, AuditHead? head)
    {
        if (head is null)
        {
            _cache.TryRemove(chain, out _);
            return;
        }
        if (_cache.Count >= MaxCachedHeads)
        {
            // Runs end; their heads are not asked for again. Dropping all costs one read per chain still in use.
            _cache.Clear();
        }
        _cache[chain] = head;
    }
}

/// <summary>
/// The heads this process appended since they were last covered by a checkpoint: what the next checkpoint signs.
/// </summary>
public sealed class AuditHeads
{
    private readonly ConcurrentDictionary<string, AuditHead> _pending = new(StringComparer.Ordinal);

    /// <summary>Notes a new head of <paramref name="chain"/>.</summary>
    public void Appended(string chain, AuditHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        _pending.AddOrUpdate(chain, head, (_, old) => head.Length >= old.Length ? head : old);
    }

    /// <summary>The pending heads, by chain.</summary>
    public IReadOnlyList<KeyValuePair<string, AuditHead>> Pending() => [.. _pending];

    /// <summary>Whether <paramref name="chain"/> has a head that no checkpoint covers yet.</summary>
    public bool IsPending(string chain) => _pending.ContainsKey(chain);

    /// <summary>Forgets heads a checkpoint covered (unless the chain grew since).</summary>
    public void Covered(IEnumerable<KeyValuePair<string, AuditHead>> covered)
    {
        ArgumentNullException.ThrowIfNull(covered);
        foreach (var (chain, head) in covered)
        {
            _pending.TryRemove(new KeyValuePair<string, AuditHead>(chain, head));
        }
    }
}
