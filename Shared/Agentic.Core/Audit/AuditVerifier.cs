using System.Security.Cryptography;

namespace Agentic.Core.Audit;

/// <summary>Where and how a chain stopped verifying.</summary>
/// <param name="Position">The first record position that does not verify (or the chain length, for a missing tail).</param>
/// <param name="Reason">What is wrong, in words.</param>
/// <param name="Expected">The hash (or length) verification expected there.</param>
/// <param name="Found">What the store holds there.</param>
public sealed record ChainBreak(long Position, string Reason, string? Expected = null, string? Found = null);

/// <summary>How a chain is covered by a signed checkpoint: the newest one that holds its head.</summary>
/// <param name="Checkpoint">The checkpoint's number.</param>
/// <param name="Length">How many records of the chain it covers.</param>
/// <param name="KeyId">The key that signed it.</param>
/// <param name="LeafIndex">The chain's leaf in that checkpoint.</param>
/// <param name="Leaves">How many leaves that checkpoint has.</param>
/// <param name="Proof">The inclusion proof: sibling hashes (hex) from the leaf up to the signed root.</param>
/// <param name="ProofValid">Whether the proof leads from the chain's head to the signed root.</param>
public sealed record ChainCoverage(long Checkpoint, long Length, string KeyId, int LeafIndex, int Leaves, IReadOnlyList<string> Proof, bool ProofValid);

/// <summary>One chain's verification.</summary>
/// <param name="Chain">The chain (a run id, or <c>control</c>).</param>
/// <param name="Valid">Whether every record verifies and nothing a checkpoint signed is missing or different.</param>
/// <param name="Records">Records read.</param>
/// <param name="Head">The hash of the last record that verified.</param>
/// <param name="Broken">The first problem, when not valid.</param>
/// <param name="Coverage">The signed checkpoint that covers the chain, if any.</param>
/// <param name="Uncovered">Records after the covered ones (written since the last checkpoint).</param>
/// <param name="Purged">The signed control record that purged the chain, when it was purged past its retention.</param>
public sealed record ChainReport(string Chain, bool Valid, long Records, string? Head, ChainBreak? Broken, ChainCoverage? Coverage, long Uncovered, ChainPurge? Purged = null);

/// <summary>The checkpoint sequence's verification.</summary>
/// <param name="Valid">Whether every checkpoint is signed by a trusted key, has a correct root and links to the one before.</param>
/// <param name="Count">Checkpoints read.</param>
/// <param name="Problem">The first problem, when not valid.</param>
/// <param name="Location">Where that checkpoint is stored.</param>
public sealed record CheckpointReport(bool Valid, long Count, string? Problem, string? Location);

/// <summary>A verification: the checkpoints, and each chain asked for.</summary>
public sealed record AuditReport(bool Valid, CheckpointReport Checkpoints, IReadOnlyList<ChainReport> Chains);

/// <summary>
/// Verifies audit chains and checkpoints with read access and public keys alone: each record's chain hash is
/// recomputed from its stored content and the hash before it; each checkpoint's signature, Merkle root and link to the
/// previous checkpoint are checked; a chain must hold at least what the newest checkpoint that signed its head says,
/// and hash to that head. Reports the first broken position with the expected and found hashes. A chain an admin purged
/// past its retention verifies as purged only when the purge is recorded in the signed part of a control chain that
/// verifies, with the length and head any checkpoint signed for it.
/// </summary>
public sealed class AuditVerifier(IAuditStore records, ICheckpointStore checkpoints, IReadOnlyList<AuditPublicKey> trusted)
{
    private const int ChunkSize = 8192;

    // Below this many records a chunk is hashed on the calling thread: scheduling work items costs more than it saves.
    private const int ParallelFrom = 512;

    /// <summary>Verifies <paramref name="chains"/> (every chain the store or a checkpoint knows when <c>null</c>).</summary>
    public async Task<AuditReport> VerifyAsync(IReadOnlyCollection<string>? chains, CancellationToken cancellationToken)
    {
        var (checkpointReport, signed) = await ReadCheckpointsAsync(cancellationToken);
        var (control, purges) = await TrustedPurgesAsync(signed, cancellationToken);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (chains is null)
        {
            await foreach (var chain in records.ListChainsAsync(cancellationToken))
            {
                names.Add(chain);
            }
            names.UnionWith(signed.Keys);
            names.UnionWith(purges.Keys);
        }
        else
        {
            names.UnionWith(chains);
        }
        var reports = new List<ChainReport>();
        foreach (var chain in names)
        {
            var report = chain == AuditChain.Control ? control : await VerifyChainAsync(chain, signed.GetValueOrDefault(chain), purges.GetValueOrDefault(chain), cancellationToken);
            if (!report.Valid)
            {
                AuditMetrics.VerificationFailed("chain");
            }
            reports.Add(report);
        }
        if (!checkpointReport.Valid)
        {
            AuditMetrics.VerificationFailed("checkpoint");
        }
        return new AuditReport(checkpointReport.Valid && reports.All(r => r.Valid), checkpointReport, reports);
    }

    /// <summary>
    /// The control chain's verification, and the purges recorded in its signed part: none unless a verified checkpoint
    /// signed the control chain and the records it signed still verify. A purge record written after the last
    /// checkpoint does not count yet, so no one who can write the table can excuse a deleted chain with one.
    /// </summary>
    public async Task<(ChainReport Control, Dictionary<string, ChainPurge> Purges)> TrustedPurgesAsync(IReadOnlyDictionary<string, SignedLeaf> leaves, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        var leaf = leaves.GetValueOrDefault(AuditChain.Control);
        var control = await VerifyChainAsync(AuditChain.Control, leaf, null, cancellationToken);
        var trusted = leaf is null || !(control.Valid || control.Broken!.Position >= leaf.Leaf.Length) ? 0 : leaf.Leaf.Length;
        return (control, await AuditPurges.ReadAsync(records, trusted, cancellationToken));
    }

    /// <summary>
    /// Verifies one chain's records, given the newest checkpoint leaf that signed its head and the signed purge record
    /// that removed it, if any.
    /// </summary>
    public async Task<ChainReport> VerifyChainAsync(string chain, SignedLeaf? covering, ChainPurge? purge, CancellationToken cancellationToken)
    {
        if (purge is not null)
        {
            return Purged(chain, covering, purge);
        }
        var previous = new byte[32];
        var stored = new byte[32];
        var buffer = new byte[64];
        long position = 0;
        string? head = null;
        // Records are taken in chunks. The content digests of a chunk are independent: they are computed in parallel
        // while this thread folds the chunk before into the chain, whose links can only be computed in order. So both
        // cores stay busy, and the link hash reuses one hash object (a one-shot hash pays most of its cost per call).
        // A run's chain (tens of records) is one small chunk, hashed in line.
        using var link = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var filling = new Chunk();
        var spare = new Chunk();
        Chunk? hashed = null;
        Task? hashing = null;
        await foreach (var record in records.ReadAsync(chain, 0, cancellationToken))
        {
            filling.Records.Add(record);
            if (filling.Records.Count < ChunkSize)
            {
                continue;
            }
            var started = Task.Run(filling.HashContents, cancellationToken);
            var broken = hashed is null ? null : await FoldAsync();
            if (broken is not null)
            {
                await started;
                return broken;
            }
            (hashed, hashing, filling) = (filling, started, hashed ?? spare);
        }
        if ((hashed is null ? null : await FoldAsync()) is { } last)
        {
            return last;
        }
        if (filling.Records.Count > 0)
        {
            filling.HashContents();
            (hashed, hashing) = (filling, Task.CompletedTask);
            if (await FoldAsync() is { } tail)
            {
                return tail;
            }
        }
        if (covering is { } leaf && position < leaf.Leaf.Length)
        {
            return Broken(position, position == 0
                ? $"The chain is gone: checkpoint {leaf.Checkpoint} signed {leaf.Leaf.Length} record(s) of it."
                : $"The chain ends at {position} record(s); checkpoint {leaf.Checkpoint} signed {leaf.Leaf.Length}: its tail was removed.",
                $"{leaf.Leaf.Length} records", $"{position} records");
        }
        var coverage = covering is { } c
            ? new ChainCoverage(c.Checkpoint, c.Leaf.Length, c.KeyId, c.Index, c.Size, [.. c.Proof.Select(Convert.ToHexStringLower)], c.ProofValid)
            : null;
        if (coverage is { ProofValid: false })
        {
            return Broken(coverage.Length - 1, $"The inclusion proof of the chain's head in checkpoint {coverage.Checkpoint} does not lead to its signed root.");
        }
        return new ChainReport(chain, true, position, head, null, coverage, position - (coverage?.Length ?? 0));

        ChainReport Broken(long at, string reason, string? expected = null, string? found = null) =>
            new(chain, false, position, head, new ChainBreak(at, reason, expected, found), null, 0);

        // Folds the hashed chunk into the chain in order, once its digests are done; the first problem, or null.
        async Task<ChainReport?> FoldAsync()
        {
            await hashing!;
            var chunk = hashed!;
            var count = chunk.Records.Count;
            for (var i = 0; i < count; i++)
            {
                var record = chunk.Records[i];
                if (record.Seq != position)
                {
                    return Broken(position, record.Seq > position
                        ? $"Record {position} is missing: the next stored record is {record.Seq}."
                        : $"Record {record.Seq} is stored again after {position - 1}: the chain was reordered.", $"seq {position}", $"seq {record.Seq}");
                }
                previous.CopyTo(buffer, 0);
                chunk.Digests.AsSpan(i * 32, 32).CopyTo(buffer.AsSpan(32));
                link.AppendData(buffer);
                link.GetHashAndReset(previous);
                if (!AuditChain.TryParseHash(record.Hash, stored) || !previous.AsSpan().SequenceEqual(stored))
                {
                    return Broken(position, $"Record {position} ('{record.Id}') does not hash to its stored chain hash: its content, or a record before it, was changed.",
                        Hex(previous), record.Hash);
                }
                position++;
                head = record.Hash;
                if (covering is { } s && position == s.Leaf.Length && head != s.Leaf.Head)
                {
                    // Checked where it is reached, so a break after it never hides that the signed records were rewritten.
                    return Broken(s.Leaf.Length - 1, $"Records 0 to {s.Leaf.Length - 1} do not lead to the head checkpoint {s.Checkpoint} signed: they were rewritten (hashes recomputed).",
                        s.Leaf.Head, head);
                }
            }
            chunk.Records.Clear();
            return null;
        }
    }

    // A chunk of records and the SHA-256 of each one's content.
    private sealed class Chunk
    {
        public List<StoredAuditRecord> Records { get; } = new(ChunkSize);

        public byte[] Digests { get; } = new byte[ChunkSize * 32];

        public void HashContents()
        {
            var count = Records.Count;
            if (count < ParallelFrom)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                for (var i = 0; i < count; i++)
                {
                    hash.AppendData(Records[i].Content);
                    hash.GetHashAndReset(Digests.AsSpan(i * 32, 32));
                }
                return;
            }
            // One hash object per worker, reused for its share of the chunk.
            Parallel.For(0, count, () => IncrementalHash.CreateHash(HashAlgorithmName.SHA256), (i, _, hash) =>
            {
                hash.AppendData(Records[i].Content);
                hash.GetHashAndReset(Digests.AsSpan(i * 32, 32));
                return hash;
            }, hash => hash.Dispose());
        }
    }

    // A purged chain's records are gone (or going); what is checked is that the purge removed what was signed.
    private static ChainReport Purged(string chain, SignedLeaf? covering, ChainPurge purge)
    {
        ChainBreak? broken = null;
        if (covering is { } leaf && leaf.Leaf.Length > purge.Length)
        {
            broken = new ChainBreak(purge.Length, $"Checkpoint {leaf.Checkpoint} signed {leaf.Leaf.Length} record(s) of the chain, but purge record '{purge.RecordId}' names {purge.Length}.",
                $"{leaf.Leaf.Length} records", $"{purge.Length} records");
        }
        else if (covering is { } same && same.Leaf.Length == purge.Length && same.Leaf.Head != purge.Head)
        {
            broken = new ChainBreak(purge.Length - 1, $"Purge record '{purge.RecordId}' names a head checkpoint {same.Checkpoint} did not sign.", same.Leaf.Head, purge.Head);
        }
        return new ChainReport(chain, broken is null, 0, purge.Head, broken, null, 0, purge);
    }

    /// <summary>Reads and checks every checkpoint; the newest signed leaf per chain among those that verify.</summary>
    public async Task<(CheckpointReport Report, Dictionary<string, SignedLeaf> Leaves)> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        var leaves = new Dictionary<string, SignedLeaf>(StringComparer.Ordinal);
        var byId = trusted.ToDictionary(k => k.KeyId, StringComparer.Ordinal);
        var previousHash = AuditChain.Genesis;
        long count = 0;
        await foreach (var stored in checkpoints.ReadAllAsync(cancellationToken))
        {
            count++;
            AuditCheckpoint checkpoint;
            try
            {
                checkpoint = AuditCheckpoint.Parse(stored.Line);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                return (new CheckpointReport(false, count, $"Checkpoint line {count} is not a checkpoint: {ex.Message}", stored.Location), leaves);
            }
            string? problem = null;
            if (checkpoint.Number != count)
            {
                problem = $"Checkpoint {count} is numbered {checkpoint.Number}: a checkpoint was removed, added or reordered.";
            }
            else if (checkpoint.Prev != previousHash)
            {
                problem = $"Checkpoint {count} does not link to checkpoint {count - 1} (expected prev {previousHash}, found {checkpoint.Prev}).";
            }
            else if (!byId.TryGetValue(checkpoint.KeyId, out var key) || key.PublicKey != checkpoint.PublicKey)
            {
                problem = $"Checkpoint {count} is signed with key {checkpoint.KeyId}, which is not a trusted key.";
            }
            else if (!key.Verifies(checkpoint.SignedBytes(), checkpoint.Signature))
            {
                problem = $"Checkpoint {count}'s signature does not verify with key {checkpoint.KeyId}: it was altered after signing.";
            }
            else if ("sha256:" + Convert.ToHexStringLower(Merkle.Root(checkpoint.Leaves)) is var root && root != checkpoint.Root)
            {
                problem = $"Checkpoint {count}'s leaves do not fold into its root (expected {checkpoint.Root}, found {root}).";
            }
            else if (!stored.Line.AsSpan().SequenceEqual(checkpoint.Line()))
            {
                problem = $"Checkpoint {count} is not stored in canonical form: it was edited.";
            }
            if (problem is not null)
            {
                return (new CheckpointReport(false, count, problem, stored.Location), leaves);
            }
            previousHash = Core.Json.AgenticJson.Digest(stored.Line);
            var rootBytes = Convert.FromHexString(checkpoint.Root.AsSpan(7));
            for (var i = 0; i < checkpoint.Leaves.Count; i++)
            {
                var leaf = checkpoint.Leaves[i];
                if (!leaves.TryGetValue(leaf.Chain, out var best) || leaf.Length >= best.Leaf.Length)
                {
                    var proof = Merkle.Proof(checkpoint.Leaves, i);
                    leaves[leaf.Chain] = new SignedLeaf(checkpoint.Number, checkpoint.KeyId, leaf, i, checkpoint.Leaves.Count, proof,
                        Merkle.VerifyInclusion(leaf, i, checkpoint.Leaves.Count, proof, rootBytes));
                }
            }
        }
        return (new CheckpointReport(true, count, null, null), leaves);
    }

    private static string Hex(byte[] hash) => "sha256:" + Convert.ToHexStringLower(hash);
}

/// <summary>A chain head as a verified checkpoint signed it, with its inclusion proof.</summary>
public sealed record SignedLeaf(long Checkpoint, string KeyId, CheckpointLeaf Leaf, int Index, int Size, IReadOnlyList<byte[]> Proof, bool ProofValid);
