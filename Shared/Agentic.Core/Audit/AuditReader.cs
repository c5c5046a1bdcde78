namespace Agentic.Core.Audit;

/// <summary>A record and the records it derives from (back to the run's acceptance) and that derive from it.</summary>
public sealed record AuditLineage(AuditRecordView Record, IReadOnlyList<AuditRecordView> Ancestors, IReadOnlyList<AuditRecordView> Descendants);

/// <summary>Reads audit chains for the API and the command line: records, lineage, verification.</summary>
public sealed class AuditReader(IAuditStore store, ICheckpointStore checkpoints)
{
    /// <summary>A chain's records in order, or an empty list for an unknown chain.</summary>
    public async Task<IReadOnlyList<AuditRecordView>> ReadAsync(string chain, CancellationToken cancellationToken)
    {
        var records = new List<AuditRecordView>();
        await foreach (var record in store.ReadAsync(chain, 0, cancellationToken))
        {
            records.Add(record.Read());
        }
        return records;
    }

    /// <summary>The run's acceptance record (who requested it, how), or <c>null</c> for a run with no audit.</summary>
    public async Task<AuditRecordView?> AcceptedAsync(string runId, CancellationToken cancellationToken) =>
        (await store.FindAsync(runId, AuditEntries.AcceptedId, cancellationToken))?.Read();

    /// <summary>The record <paramref name="id"/> of <paramref name="chain"/> with its ancestors and descendants, or <c>null</c>.</summary>
    public async Task<AuditLineage?> LineageAsync(string chain, string id, CancellationToken cancellationToken)
    {
        var records = await ReadAsync(chain, cancellationToken);
        var byId = records.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (!byId.TryGetValue(id, out var record))
        {
            return null;
        }
        // Amendments (id~2, ...) stand for the same fact: a record derived from an id derives from its amendments too.
        static string Base(string recordId) => recordId.IndexOf('~', StringComparison.Ordinal) is var at and > 0 ? recordId[..at] : recordId;
        var ancestors = new List<AuditRecordView>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { record.Id };
        var queue = new Queue<string>(record.DerivedFrom);
        while (queue.TryDequeue(out var next))
        {
            foreach (var parent in records.Where(r => Base(r.Id) == next && seen.Add(r.Id)))
            {
                ancestors.Add(parent);
                foreach (var grand in parent.DerivedFrom)
                {
                    queue.Enqueue(grand);
                }
            }
        }
        var descendants = new List<AuditRecordView>();
        var frontier = new Queue<string>([Base(record.Id)]);
        var down = new HashSet<string>(StringComparer.Ordinal) { record.Id };
        while (frontier.TryDequeue(out var from))
        {
            foreach (var child in records.Where(r => r.DerivedFrom.Contains(from, StringComparer.Ordinal) && down.Add(r.Id)))
            {
                descendants.Add(child);
                frontier.Enqueue(Base(child.Id));
            }
        }
        return new AuditLineage(record, [.. ancestors.OrderBy(r => r.Seq)], [.. descendants.OrderBy(r => r.Seq)]);
    }

    /// <summary>Every stored checkpoint line, in order.</summary>
    public IAsyncEnumerable<StoredCheckpoint> CheckpointsAsync(CancellationToken cancellationToken) => checkpoints.ReadAllAsync(cancellationToken);

    /// <summary>Verifies <paramref name="chains"/> (every chain when <c>null</c>) against checkpoints signed by <paramref name="trusted"/>.</summary>
    public Task<AuditReport> VerifyAsync(IReadOnlyCollection<string>? chains, IReadOnlyList<AuditPublicKey> trusted, CancellationToken cancellationToken) =>
        new AuditVerifier(store, checkpoints, trusted).VerifyAsync(chains, cancellationToken);
}
