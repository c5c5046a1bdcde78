using System.Text;
using System.Text.Json.Nodes;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Agentic.Core.Tests.Audit;

/// <summary>Purging audit chains past their retention: write-ahead on the control chain, and what verification makes of it.</summary>
public sealed class AuditRetentionTests : IDisposable
{
    private static readonly DateTimeOffset Long = new(2018, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly TestAudit _audit = new();
    private readonly FakeTimeProvider _now = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _audit.Dispose();

    private async Task WriteAsync(string chain, DateTimeOffset at, int records = 3)
    {
        for (var i = 0; i < records; i++)
        {
            await _audit.Log.AppendAsync(chain, new AuditEntry($"r{i}", AuditKinds.Observation, at.AddMinutes(i), AgenticJson.ToElement(new { i })), AuditConflict.Refuse, Ct);
        }
    }

    private Task<AuditPurgeReport> PurgeAsync(DateTimeOffset before) =>
        _audit.Retention(_now).PurgeAsync(before, "alice@contoso.com", "Seven-year retention ended.", Ct);

    private async Task<AuditReport> VerifyAllAsync() => await (await _audit.VerifierAsync(Ct)).VerifyAsync(null, Ct);

    [Fact]
    public async Task Purge_RemovesOnlyChainsOlderThanBefore_RecordsThemOnTheSignedControlChain_AndVerifiesAsPurged()
    {
        await WriteAsync("run-old-1", Long);
        await WriteAsync("run-old-2", Long.AddDays(3), records: 5);
        await WriteAsync("run-recent", _now.GetUtcNow().AddDays(-1));
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        var oldHead = await _audit.Store.GetHeadAsync("run-old-2", Ct);

        var report = await PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(["run-old-1", "run-old-2"], report.Purged.Select(p => p.Chain).Order(StringComparer.Ordinal));
        Assert.Empty(report.Skipped);
        Assert.False(report.More);
        Assert.NotNull(report.Checkpoint);
        Assert.Null(await _audit.Store.GetHeadAsync("run-old-1", Ct));
        Assert.NotNull(await _audit.Store.GetHeadAsync("run-recent", Ct));
        var record = (await _audit.Store.FindAsync(AuditChain.Control, report.Purged[0].RecordId, Ct))!.Read();
        Assert.Equal(AuditKinds.AuditPurged, record.Kind);
        Assert.Equal("alice@contoso.com", record.Data.GetProperty("by").GetString());
        var listed = record.Data.GetProperty("chains").EnumerateArray().Single(c => c.GetProperty("chain").GetString() == "run-old-2");
        Assert.Equal(5, listed.GetProperty("length").GetInt64());
        Assert.Equal(oldHead!.Hash, listed.GetProperty("head").GetString());

        var verified = await VerifyAllAsync();
        Assert.True(verified.Valid);
        var purged = verified.Chains.Single(c => c.Chain == "run-old-2");
        Assert.Equal("alice@contoso.com", purged.Purged!.By);
        Assert.Equal(oldHead.Hash, purged.Head);
        Assert.Equal(3, verified.Chains.Single(c => c.Chain == "run-recent").Records);
    }

    [Fact]
    public async Task Purge_WithinTheAuditRetention_IsRefused_AndRemovesNothing()
    {
        await WriteAsync("run-1", Long);
        var retention = _audit.Retention(_now, new RetentionOptions { AuditDays = 3650 });

        var refused = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            retention.PurgeAsync(_now.GetUtcNow().AddDays(-3649), "alice@contoso.com", "Too soon.", Ct));

        Assert.Contains("3650 days", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(await _audit.Store.GetHeadAsync("run-1", Ct));
        Assert.Null(await _audit.Store.GetHeadAsync(AuditChain.Control, Ct));
    }

    [Fact]
    public async Task ChainThatDoesNotVerify_IsKeptAsEvidence_AndReportedWithTheReason()
    {
        await WriteAsync("run-tampered", Long);
        await WriteAsync("run-clean", Long);
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        var records = new List<StoredAuditRecord>();
        await foreach (var r in _audit.Store.ReadAsync("run-tampered", 0, Ct))
        {
            records.Add(r);
        }
        records[1] = records[1] with { Content = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(records[1].Content).Replace("\"i\":1", "\"i\":7", StringComparison.Ordinal)) };
        _audit.Store.Overwrite("run-tampered", records);

        var report = await PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal("run-clean", Assert.Single(report.Purged).Chain);
        var skipped = Assert.Single(report.Skipped);
        Assert.Equal("run-tampered", skipped.Chain);
        Assert.Contains("kept as evidence", skipped.Reason, StringComparison.Ordinal);
        Assert.NotNull(await _audit.Store.GetHeadAsync("run-tampered", Ct));
    }

    [Fact]
    public async Task ChainDeletedWithoutAPurgeRecord_StillReadsAsGone()
    {
        await WriteAsync("run-old", Long);
        await WriteAsync("run-other", Long);
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        await PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await WriteAsync("run-new", _now.GetUtcNow());
        await _audit.Checkpointer.CheckpointAsync(null, Ct);

        await _audit.Store.DeleteChainAsync("run-new", Ct);

        var report = await VerifyAllAsync();
        Assert.False(report.Valid);
        var gone = report.Chains.Single(c => c.Chain == "run-new");
        Assert.Null(gone.Purged);
        Assert.Contains("gone", gone.Broken!.Reason, StringComparison.Ordinal);
        Assert.True(report.Chains.Single(c => c.Chain == "run-old").Valid);
    }

    [Fact]
    public async Task ForgedPurgeRecord_AfterTheLastCheckpoint_DoesNotExcuseADeletedChain()
    {
        await WriteAsync("run-victim", _now.GetUtcNow().AddDays(-2));
        await ControlChangeAsync();
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        var head = await _audit.Store.GetHeadAsync("run-victim", Ct);

        // Someone with write access to the table appends a well-formed purge record (hashes are not secret) and deletes
        // the chain; no checkpoint signs the record.
        var forged = new JsonObject
        {
            ["by"] = "mallory", ["reason"] = "cleanup", ["before"] = "2026-12-01T00:00:00.0000000Z", ["retentionDays"] = 1,
            ["chains"] = new JsonArray(new JsonObject { ["chain"] = "run-victim", ["length"] = head!.Length, ["head"] = head.Hash }),
        };
        await new AuditLog(_audit.Store, new AuditHeads()).AppendAsync(AuditChain.Control,
            new AuditEntry("audit.purged/audit/0/1", AuditKinds.AuditPurged, _now.GetUtcNow(), AgenticJson.ToElement(forged)), AuditConflict.Refuse, Ct);
        await _audit.Store.DeleteChainAsync("run-victim", Ct);

        var report = await VerifyAllAsync();

        Assert.False(report.Valid);
        var victim = report.Chains.Single(c => c.Chain == "run-victim");
        Assert.Null(victim.Purged);
        Assert.Contains("gone", victim.Broken!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeRecordNamingAnotherHead_ThanTheCheckpointSigned_IsBroken()
    {
        await WriteAsync("run-old", Long);
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        var signedHead = (await _audit.Store.GetHeadAsync("run-old", Ct))!.Hash;
        var purged = new ChainPurge("run-old", 3, AuditChain.Genesis, "audit.purged/audit/0/1", 0, Long, "alice", "why");
        var verifier = await _audit.VerifierAsync(Ct);
        var (_, leaves) = await verifier.ReadCheckpointsAsync(Ct);

        var report = await verifier.VerifyChainAsync("run-old", leaves["run-old"], purged, Ct);

        Assert.False(report.Valid);
        Assert.Equal(signedHead, report.Broken!.Expected);
        Assert.Equal(AuditChain.Genesis, report.Broken.Found);
    }

    [Fact]
    public async Task InterruptedPurge_IsFinishedByTheNextOne_WithoutASecondRecord()
    {
        await WriteAsync("run-old", Long);
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        await PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var controlLength = (await _audit.Store.GetHeadAsync(AuditChain.Control, Ct))!.Length;
        // As if the deletion had stopped half-way: the rows are back, the signed purge record stands.
        await WriteAsync("run-old", Long);

        var report = await PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Empty(report.Purged);
        Assert.Equal(["run-old"], report.Resumed);
        Assert.Null(await _audit.Store.GetHeadAsync("run-old", Ct));
        Assert.Equal(controlLength, (await _audit.Store.GetHeadAsync(AuditChain.Control, Ct))!.Length);
        Assert.True((await VerifyAllAsync()).Valid);
    }

    [Fact]
    public async Task Purge_IsRefused_WhenTheCheckpointsDoNotVerify()
    {
        await WriteAsync("run-old", Long);
        await _audit.Checkpointer.CheckpointAsync(null, Ct);
        var line = Encoding.UTF8.GetString((await FirstCheckpointAsync()).Line).Replace("run-old", "run-xyz", StringComparison.Ordinal);
        _audit.Checkpoints.Overwrite(0, Encoding.UTF8.GetBytes(line));

        var refused = await Assert.ThrowsAsync<AuditPurgeRefusedException>(() => PurgeAsync(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero)));

        Assert.Contains("checkpoints do not verify", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(await _audit.Store.GetHeadAsync("run-old", Ct));
    }

    [Fact]
    public void Options_RefuseAnAuditRetentionShorterThanTheRunRetention() =>
        Assert.Contains(new RetentionOptions { RunDays = 90, AuditDays = 30 }.Validate(), p => p.Contains("AuditDays must be at least RunDays", StringComparison.Ordinal));

    private Task<AuditAppended> ControlChangeAsync() =>
        _audit.Log.AppendAsync(AuditChain.Control, new AuditEntry("control.engaged/kill-switch:global/1", AuditKinds.ControlEngaged, _now.GetUtcNow(), AgenticJson.ToElement(new { rule = "kill-switch:global" })), AuditConflict.Refuse, Ct);

    private async Task<StoredCheckpoint> FirstCheckpointAsync()
    {
        await foreach (var c in _audit.Checkpoints.ReadAllAsync(Ct))
        {
            return c;
        }
        throw new InvalidOperationException("No checkpoint.");
    }
}
