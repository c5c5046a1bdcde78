using System.Text;
using Agentic.Azure;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Durable;
using Agentic.Runtime.Tests.Infrastructure;
using Agentic.Testing;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.DependencyInjection;

namespace Agentic.Runtime.Tests;

/// <summary>
/// The audit trail of real runs on the engine and a real Azurite: what a run writes, its lineage, write-ahead, and every
/// kind of tampering with the table and the checkpoint blob, each detected and named by a verifier that holds nothing but
/// read access and the public key.
/// </summary>
public sealed class AuditTrailTests(AzuriteFixture azurite, FleetFixture fleet) : RuntimeTest(azurite, fleet), IClassFixture<FleetFixture>
{
    private static readonly IReadOnlyList<AuditPublicKey> TrustedKeys = AuditPublicKey.ParseAll(TestIdentities.AuditSigningKey);

    private async Task<(LocalRuntime Runtime, string RunId)> CompletedHealerAsync()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        await DecideAsync(runtime, runId);
        AssertCompleted(await runtime.WaitTerminalAsync(runId), "remediated");
        return (runtime, runId);
    }

    // Only the stores and the public key: what `agentic audit verify` has.
    private static AuditVerifier Verifier(LocalRuntime runtime) =>
        new(new TableAuditStore(runtime.Storage), new BlobCheckpointStore(runtime.Storage), TrustedKeys);

    private static TableClient Table(LocalRuntime runtime) => runtime.Storage.Table(TableAuditStore.TableSuffix);

    private static async Task<ChainReport> VerifyAsync(LocalRuntime runtime, string runId) =>
        (await Verifier(runtime).VerifyAsync([runId], Ct)).Chains.Single();

    [Fact]
    public async Task ApprovedRun_WritesEachFactInOrder_WithLineage_AndVerifiesUnderASignedCheckpoint()
    {
        var (runtime, runId) = await CompletedHealerAsync();

        var records = await runtime.Services.GetRequiredService<AuditReader>().ReadAsync(runId, Ct);
        Assert.Equal(
            [AuditKinds.RunAccepted, AuditKinds.Observation, AuditKinds.Plan,
             AuditKinds.Decision, AuditKinds.ActionStarted, AuditKinds.ActionOutcome,
             AuditKinds.Decision, AuditKinds.Approval, AuditKinds.ActionStarted, AuditKinds.ActionOutcome,
             AuditKinds.Observation, AuditKinds.RunOutcome],
            records.Select(r => r.Kind));
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Seq));
        var accepted = records[0];
        Assert.Equal(Requests.Requester, accepted.Data.GetProperty("principal").GetString());
        Assert.Equal(RunTrigger.Http, accepted.Data.GetProperty("trigger").GetString());
        var decision = records.Single(r => r.Id == "s2/gate");
        Assert.Equal("require-approval", decision.Data.GetProperty("effect").GetString());
        Assert.Equal("approve-high-risk", decision.Data.GetProperty("rule").GetString());
        Assert.StartsWith("sha256:", decision.Data.GetProperty("policyHash").GetString(), StringComparison.Ordinal);
        Assert.Equal(Approver, records.Single(r => r.Kind == AuditKinds.Approval).Data.GetProperty("approver").GetString());
        // Written ahead: the decision and the approval come before the action they allow.
        Assert.True(decision.Seq < records.Single(r => r.Id == "s2/act").Seq);

        // From the side effect back to the signal, and forward to the run's end.
        var lineage = await runtime.Services.GetRequiredService<AuditReader>().LineageAsync(runId, AuditEntries.OutcomeOf("s2"), Ct);
        Assert.NotNull(lineage);
        Assert.Equal(["accepted", "perceive", "plan", "s2/gate", ApprovalIdOf(records), "s2/act"], lineage.Ancestors.Select(r => r.Id));
        var fromSignal = await runtime.Services.GetRequiredService<AuditReader>().LineageAsync(runId, "perceive", Ct);
        Assert.Contains(fromSignal!.Descendants, r => r.Id == AuditEntries.OutcomeOf("s2"));

        var report = await VerifyAsync(runtime, runId);
        Assert.True(report.Valid, report.Broken?.Reason);
        Assert.Equal(records.Count, report.Records);
        Assert.Equal(records.Count, report.Coverage!.Length);
        Assert.True(report.Coverage.ProofValid);
    }

    private static string ApprovalIdOf(IReadOnlyList<AuditRecordView> records) => records.Single(r => r.Kind == AuditKinds.Approval).Id;

    [Fact]
    public async Task Act_RefusesAStepWhoseApprovalIsStoredButNotInTheAuditChain_AndNothingIsCalled()
    {
        var runtime = await StartRuntimeAsync();
        var runId = await SubmitHealerAwaitingApprovalAsync(runtime);
        var pending = (await runtime.Runs.GetAsync(runId, Ct))!.View.PendingApproval!;
        // An approval that reached the decision store and the run by another way than the run client: not audited.
        var approval = await runtime.Governance.RecordApprovalAsync(runId, "s2",
            new ApprovalDecision("approve", Approver, ["operator"], pending.ArgsDigest, null, DateTimeOffset.UtcNow) { ToolHash = pending.ToolHash }, Ct);
        await runtime.Engine.RaiseEventAsync(runId, Agentic.Core.Workflow.AgentWorkflow.Ids.ApprovalEvent("s2"), Agentic.Core.Json.AgenticJson.ToElement(approval), Ct);

        var run = await runtime.WaitTerminalAsync(runId);

        AssertFailed(run, "not in the audit chain", "refusing to act");
        Assert.Empty(await Fleet.EffectsOfAsync(runId));
    }

    [Fact]
    public async Task EditedField_OnAzurite_IsDetectedAtItsPosition()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        var row = (await Table(runtime).GetEntityAsync<TableEntity>(runId, TableAuditStore.RecordRow(3), cancellationToken: Ct)).Value;
        row["Json"] = row.GetString("Json")!.Replace("\"permit\"", "\"forbid\"", StringComparison.Ordinal);
        await Table(runtime).UpdateEntityAsync(row, ETag.All, TableUpdateMode.Replace, Ct);

        var report = await VerifyAsync(runtime, runId);

        Assert.False(report.Valid);
        Assert.Equal(3, report.Broken!.Position);
        Assert.Equal(row.GetString("Hash"), report.Broken.Found);
    }

    [Fact]
    public async Task DeletedRow_OnAzurite_IsDetectedAsMissing()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        await Table(runtime).DeleteEntityAsync(runId, TableAuditStore.RecordRow(4), cancellationToken: Ct);

        var report = await VerifyAsync(runtime, runId);

        Assert.False(report.Valid);
        Assert.Equal(4, report.Broken!.Position);
        Assert.Contains("missing", report.Broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwappedRows_OnAzurite_AreDetectedAtTheFirst()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        var a = (await Table(runtime).GetEntityAsync<TableEntity>(runId, TableAuditStore.RecordRow(2), cancellationToken: Ct)).Value;
        var b = (await Table(runtime).GetEntityAsync<TableEntity>(runId, TableAuditStore.RecordRow(5), cancellationToken: Ct)).Value;
        foreach (var column in new[] { "Json", "Hash", "Id" })
        {
            (a[column], b[column]) = (b[column], a[column]);
        }
        await Table(runtime).UpdateEntityAsync(a, ETag.All, TableUpdateMode.Replace, Ct);
        await Table(runtime).UpdateEntityAsync(b, ETag.All, TableUpdateMode.Replace, Ct);

        var report = await VerifyAsync(runtime, runId);

        Assert.False(report.Valid);
        Assert.Equal(2, report.Broken!.Position);
    }

    [Fact]
    public async Task TruncatedTail_OnAzurite_IsDetectedAgainstTheSignedLength()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        var length = (await VerifyAsync(runtime, runId)).Records;
        // The forger also rewinds the head row, so nothing in the table itself tells.
        await Table(runtime).DeleteEntityAsync(runId, TableAuditStore.RecordRow(length - 1), cancellationToken: Ct);
        await Table(runtime).DeleteEntityAsync(runId, TableAuditStore.RecordRow(length - 2), cancellationToken: Ct);

        var report = await VerifyAsync(runtime, runId);

        Assert.False(report.Valid);
        Assert.Equal(length - 2, report.Broken!.Position);
        Assert.Contains("tail was removed", report.Broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TailRewrittenWithRecomputedHashes_OnAzurite_IsDetectedAgainstTheSignedHead()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        var rows = new List<TableEntity>();
        await foreach (var row in Table(runtime).QueryAsync<TableEntity>(e => e.PartitionKey == runId, cancellationToken: Ct))
        {
            if (row.RowKey.StartsWith('r'))
            {
                rows.Add(row);
            }
        }
        // Rewrites the outcome of s2 and every hash after it, as someone who knows the scheme would.
        var from = rows.FindIndex(r => r.GetString("Id") == AuditEntries.OutcomeOf("s2"));
        var previous = rows[from - 1].GetString("Hash")!;
        foreach (var row in rows.Skip(from))
        {
            var json = row.GetString("Json")!.Replace("\"succeeded\":true", "\"succeeded\":false", StringComparison.Ordinal);
            var hash = AuditChain.Link(previous, Encoding.UTF8.GetBytes(json));
            row["Json"] = json;
            row["Hash"] = hash;
            await Table(runtime).UpdateEntityAsync(row, ETag.All, TableUpdateMode.Replace, Ct);
            previous = hash;
        }

        var report = await VerifyAsync(runtime, runId);

        Assert.False(report.Valid);
        Assert.Equal(rows.Count - 1, report.Broken!.Position);
        Assert.Contains("rewritten", report.Broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedRun_OnAzurite_IsDetectedByVerifyAll()
    {
        var (runtime, runId) = await CompletedHealerAsync();
        await foreach (var row in Table(runtime).QueryAsync<TableEntity>(e => e.PartitionKey == runId, select: ["PartitionKey", "RowKey"], cancellationToken: Ct))
        {
            await Table(runtime).DeleteEntityAsync(row.PartitionKey, row.RowKey, cancellationToken: Ct);
        }

        var report = await Verifier(runtime).VerifyAsync(null, Ct);

        Assert.False(report.Valid);
        Assert.Contains("gone", report.Chains.Single(c => c.Chain == runId).Broken!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlteredCheckpoint_OnAzurite_FailsItsSignature()
    {
        var (runtime, _) = await CompletedHealerAsync();
        var checkpoints = new BlobCheckpointStore(runtime.Storage);
        var blob = checkpoints.Container.GetAppendBlobClient(BlobCheckpointStore.SegmentName(1));
        var text = (await blob.DownloadContentAsync(Ct)).Value.Content.ToString();
        // Where no immutability policy protects the container (Azurite has none), the blob can be replaced.
        var altered = System.Text.RegularExpressions.Regex.Replace(text, "\"length\":(\\d+)", m => $"\"length\":{int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1}");
        Assert.NotEqual(text, altered);
        await blob.DeleteAsync(cancellationToken: Ct);
        await blob.CreateAsync(cancellationToken: Ct);
        await blob.AppendBlockAsync(new MemoryStream(Encoding.UTF8.GetBytes(altered)), cancellationToken: Ct);

        var report = await Verifier(runtime).VerifyAsync(null, Ct);

        Assert.False(report.Checkpoints.Valid);
        Assert.Contains("signature", report.Checkpoints.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verifier_TrustsOnlyTheKeysItIsGiven()
    {
        var (runtime, _) = await CompletedHealerAsync();
        var stranger = AuditPublicKey.ParseAll(AuditSigner.NewKeyPem());

        var report = await new AuditVerifier(new TableAuditStore(runtime.Storage), new BlobCheckpointStore(runtime.Storage), stranger).VerifyAsync(null, Ct);

        Assert.False(report.Valid);
        Assert.Contains("not a trusted key", report.Checkpoints.Problem, StringComparison.Ordinal);
    }
}
