using System.Text.Json.Nodes;
using Agentic.Core.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Core.Audit;

/// <summary>
/// A chain an admin purged: what the purge record on the control chain says it held when it was removed, and who
/// removed it, when and why.
/// </summary>
/// <param name="Chain">The purged chain.</param>
/// <param name="Length">Its records when purged.</param>
/// <param name="Head">Its head hash when purged.</param>
/// <param name="RecordId">The <c>audit.purged</c> record on the control chain.</param>
/// <param name="ControlSeq">That record's position in the control chain.</param>
/// <param name="At">When the purge was recorded.</param>
/// <param name="By">The admin who purged.</param>
/// <param name="Reason">Why.</param>
public sealed record ChainPurge(string Chain, long Length, string Head, string RecordId, long ControlSeq, DateTimeOffset At, string By, string Reason);

/// <summary>A chain an audit purge left, and why.</summary>
public sealed record AuditPurgeSkip(string Chain, string Reason);

/// <summary>What an audit purge did.</summary>
/// <param name="Before">Chains whose last record is older than this were purged.</param>
/// <param name="Purged">Chains purged by this call, each with its purge record.</param>
/// <param name="Resumed">Chains an earlier purge recorded but had not finished deleting, deleted now.</param>
/// <param name="Skipped">Old chains left in place (one that does not verify is evidence and is never purged).</param>
/// <param name="More">Whether more chains qualify than one call purges; call again.</param>
/// <param name="Checkpoint">The checkpoint that signed the purge records.</param>
public sealed record AuditPurgeReport(DateTimeOffset Before, IReadOnlyList<ChainPurge> Purged, IReadOnlyList<string> Resumed, IReadOnlyList<AuditPurgeSkip> Skipped, bool More, long? Checkpoint);

/// <summary>An audit purge that can not go ahead because the evidence it would remove, or its own record, is in question.</summary>
public sealed class AuditPurgeRefusedException(string message) : Exception(message);

/// <summary>
/// Purges audit chains past the audit retention (<see cref="RetentionOptions.AuditDays"/>), for an admin. Write-ahead,
/// like every side effect here: the chains to go are verified (one that does not verify is evidence of tampering and
/// stays), listed with their length and head in <c>audit.purged</c> records on the control chain, and a checkpoint
/// signs those records before any row is deleted. Verification then reports a listed chain as purged, by whom and when,
/// where it would otherwise report it gone; a chain removed without such a record still reads as tampering.
/// </summary>
public sealed class AuditRetention(
    AuditLog audit,
    AuditCheckpointer checkpointer,
    AuditSigner signer,
    ICheckpointStore checkpoints,
    AuditHeads heads,
    IOptions<RetentionOptions> options,
    TimeProvider clock,
    ILogger<AuditRetention> logger)
{
    /// <summary>Most chains one call purges (and so one control record per <see cref="ChainsPerRecord"/> of them).</summary>
    public const int MaxChainsPerCall = 1000;

    /// <summary>The longest reason a purge may give.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Chains listed in one <c>audit.purged</c> record (a record stays well under a table property's 64 KB).</summary>
    public const int ChainsPerRecord = 100;

    /// <summary>Days audit is kept (<see cref="RetentionOptions.AuditDays"/>).</summary>
    public int Days => options.Value.AuditDays;

    /// <summary>The newest <c>before</c> a purge may name now: everything younger is within the audit retention.</summary>
    public DateTimeOffset Latest => clock.GetUtcNow() - TimeSpan.FromDays(options.Value.AuditDays);

    /// <summary>Purges the run chains whose last record is older than <paramref name="before"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="before"/> is within the audit retention.</exception>
    /// <exception cref="AuditPurgeRefusedException">The checkpoints or the control chain do not verify.</exception>
    public async Task<AuditPurgeReport> PurgeAsync(DateTimeOffset before, string by, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var latest = Latest;
        if (before > latest)
        {
            throw new ArgumentOutOfRangeException(nameof(before), before,
                $"Audit is kept {options.Value.AuditDays} days ({RetentionOptions.Section}:AuditDays): 'before' may be at most {AuditChain.Time(latest)}.");
        }
        var store = audit.Store;
        // Sign what this host has pending first, so a chain it wrote is covered by a checkpoint before it is judged.
        await checkpointer.CheckpointAsync(null, cancellationToken);
        var verifier = new AuditVerifier(store, checkpoints, await signer.TrustedKeysAsync(cancellationToken));
        var (checkpointReport, signed) = await verifier.ReadCheckpointsAsync(cancellationToken);
        if (!checkpointReport.Valid)
        {
            throw new AuditPurgeRefusedException($"The audit checkpoints do not verify ({checkpointReport.Problem}); nothing is purged while the evidence is in question.");
        }
        var (control, purged) = await verifier.TrustedPurgesAsync(signed, cancellationToken);
        if (!control.Valid)
        {
            throw new AuditPurgeRefusedException($"The control chain does not verify ({control.Broken?.Reason}); nothing is purged while the evidence is in question.");
        }

        var chosen = new List<CheckpointLeaf>();
        var resumed = new List<string>();
        var skipped = new List<AuditPurgeSkip>();
        var more = false;
        await foreach (var chain in store.ListChainsAsync(cancellationToken))
        {
            if (chain == AuditChain.Control)
            {
                continue;
            }
            if (purged.ContainsKey(chain))
            {
                resumed.Add(chain);
                continue;
            }
            if (chosen.Count == MaxChainsPerCall)
            {
                more = true;
                break;
            }
            if (await store.GetHeadAsync(chain, cancellationToken) is not { Length: > 0 } head
                || await LastRecordTimeAsync(store, chain, head.Length, cancellationToken) is not { } last
                || last >= before)
            {
                continue;
            }
            var report = await verifier.VerifyChainAsync(chain, signed.GetValueOrDefault(chain), null, cancellationToken);
            if (!report.Valid)
            {
                skipped.Add(new AuditPurgeSkip(chain, $"It does not verify, so it is kept as evidence: {report.Broken!.Reason}"));
            }
            else if (report.Records != head.Length || report.Head != head.Hash)
            {
                skipped.Add(new AuditPurgeSkip(chain, "It changed while it was being verified."));
            }
            else
            {
                chosen.Add(new CheckpointLeaf(chain, head.Length, head.Hash));
            }
        }

        var now = clock.GetUtcNow();
        var done = new List<ChainPurge>();
        var batch = 0;
        foreach (var leaves in chosen.Chunk(ChainsPerRecord))
        {
            var data = new JsonObject
            {
                ["by"] = by,
                ["reason"] = reason,
                ["before"] = AuditChain.Time(before),
                ["retentionDays"] = options.Value.AuditDays,
                ["chains"] = new JsonArray([.. leaves.Select(l => (JsonNode)new JsonObject { ["chain"] = l.Chain, ["length"] = l.Length, ["head"] = l.Head })]),
            };
            var appended = await ControlChain.AppendAsync(audit, AuditKinds.AuditPurged, $"audit/{batch++}", now, data, cancellationToken);
            done.AddRange(leaves.Select(l => new ChainPurge(l.Chain, l.Length, l.Head, appended.Record.Id, appended.Record.Seq, now, by, reason)));
        }
        long? checkpoint = null;
        if (done.Count > 0 || resumed.Count > 0)
        {
            // The control chain's head is signed before anything is deleted, including a head an interrupted purge
            // appended and no checkpoint signed yet.
            if (await store.GetHeadAsync(AuditChain.Control, cancellationToken) is { } controlHead)
            {
                heads.Appended(AuditChain.Control, controlHead);
            }
            checkpoint = (await checkpointer.CheckpointAsync(AuditChain.Control, cancellationToken))?.Number;
        }
        foreach (var chain in done.Select(d => d.Chain).Concat(resumed))
        {
            await store.DeleteChainAsync(chain, cancellationToken);
            audit.Forget(chain);
        }
        AuditMetrics.Purged(done.Count + resumed.Count);
        AuditLogs.Purged(logger, done.Count, resumed.Count, skipped.Count, by);
        return new AuditPurgeReport(before, done, resumed, skipped, more, checkpoint);
    }

    private static async Task<DateTimeOffset?> LastRecordTimeAsync(IAuditStore store, string chain, long length, CancellationToken cancellationToken)
    {
        DateTimeOffset? at = null;
        await foreach (var record in store.ReadAsync(chain, length - 1, cancellationToken))
        {
            try
            {
                at = record.Read().At;
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A record that does not parse is judged by verification, which keeps the chain.
                return DateTimeOffset.MinValue;
            }
        }
        return at;
    }
}

/// <summary>Reads the purges the control chain records.</summary>
public static class AuditPurges
{
    /// <summary>
    /// The <c>audit.purged</c> records among the first <paramref name="trusted"/> records of the control chain (those a
    /// verified checkpoint signed), by chain; a chain purged twice keeps the later record.
    /// </summary>
    public static async Task<Dictionary<string, ChainPurge>> ReadAsync(IAuditStore store, long trusted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var purges = new Dictionary<string, ChainPurge>(StringComparer.Ordinal);
        if (trusted <= 0)
        {
            return purges;
        }
        await foreach (var record in store.ReadAsync(AuditChain.Control, 0, cancellationToken))
        {
            if (record.Seq >= trusted)
            {
                break;
            }
            var view = record.Read();
            if (view.Kind != AuditKinds.AuditPurged)
            {
                continue;
            }
            var by = view.Data.GetProperty("by").GetString()!;
            var reason = view.Data.GetProperty("reason").GetString()!;
            foreach (var chain in view.Data.GetProperty("chains").EnumerateArray())
            {
                var name = chain.GetProperty("chain").GetString()!;
                purges[name] = new ChainPurge(name, chain.GetProperty("length").GetInt64(), chain.GetProperty("head").GetString()!, view.Id, view.Seq, view.At, by, reason);
            }
        }
        return purges;
    }
}
