using System.Text;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Testing;

namespace Agentic.Core.Tests.Audit;

/// <summary>Each kind of tampering, on the in-memory stores (the same kinds run against Azurite in the runtime tests).</summary>
public sealed class AuditVerifierTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly TestAudit _audit = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _audit.Dispose();

    private async Task<List<StoredAuditRecord>> RunWithCheckpointAsync(string chain, int records)
    {
        for (var i = 0; i < records; i++)
        {
            await _audit.Log.AppendAsync(chain, new AuditEntry($"r{i}", AuditKinds.Observation, At.AddSeconds(i), AgenticJson.ToElement(new { i, status = "ok" })), AuditConflict.Refuse, Ct);
        }
        Assert.NotNull(await _audit.Checkpointer.CheckpointAsync(chain, Ct));
        var list = new List<StoredAuditRecord>();
        await foreach (var r in _audit.Store.ReadAsync(chain, 0, Ct))
        {
            list.Add(r);
        }
        return list;
    }

    private async Task<ChainReport> VerifyAsync(string chain) =>
        (await (await _audit.VerifierAsync(Ct)).VerifyAsync([chain], Ct)).Chains.Single();

    [Fact]
    public async Task UntouchedChain_Verifies_AndIsCoveredByASignedCheckpointWithAnInclusionProof()
    {
        await RunWithCheckpointAsync("run-a", 3);
        await RunWithCheckpointAsync("run-b", 4);

        var report = await (await _audit.VerifierAsync(Ct)).VerifyAsync(null, Ct);

        Assert.True(report.Valid);
        Assert.Equal(2, report.Checkpoints.Count);
        var b = report.Chains.Single(c => c.Chain == "run-b");
        Assert.Equal(4, b.Records);
        Assert.Equal(4, b.Coverage!.Length);
        Assert.True(b.Coverage.ProofValid);
        Assert.Equal(0, b.Uncovered);
    }

    [Fact]
    public async Task EditedField_IsDetectedAtItsPosition_WithExpectedAndFoundHashes()
    {
        var records = await RunWithCheckpointAsync("run-1", 5);
        var edited = records.ToList();
        edited[2] = edited[2] with { Content = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(edited[2].Content).Replace("\"ok\"", "\"OK\"", StringComparison.Ordinal)) };
        _audit.Store.Overwrite("run-1", edited);

        var report = await VerifyAsync("run-1");

        Assert.False(report.Valid);
        Assert.Equal(2, report.Broken!.Position);
        Assert.Equal(records[2].Hash, report.Broken.Found);
        Assert.NotEqual(report.Broken.Expected, report.Broken.Found);
    }

    [Fact]
    public async Task DeletedRecord_IsDetectedAsMissing()
    {
        var records = await RunWithCheckpointAsync("run-1", 5);
        _audit.Store.Overwrite("run-1", records.Where(r => r.Seq != 1));

        var report = await VerifyAsync("run-1");

        Assert.False(report.Valid);
        Assert.Equal(1, report.Broken!.Position);
        Assert.Contains("missing", report.Broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwappedRecords_AreDetectedAtTheFirstOfThem()
    {
        var records = await RunWithCheckpointAsync("run-1", 5);
        // Contents swapped under unchanged positions, as an edit of two rows would.
        var swapped = records.ToList();
        swapped[1] = records[1] with { Content = records[3].Content, Hash = records[3].Hash, Id = records[3].Id };
        swapped[3] = records[3] with { Content = records[1].Content, Hash = records[1].Hash, Id = records[1].Id };
        _audit.Store.Overwrite("run-1", swapped);

        var report = await VerifyAsync("run-1");

        Assert.False(report.Valid);
        Assert.Equal(1, report.Broken!.Position);
    }

    [Fact]
    public async Task TruncatedTail_IsDetectedAgainstTheCheckpoint()
    {
        var records = await RunWithCheckpointAsync("run-1", 5);
        _audit.Store.Overwrite("run-1", records.Take(3));

        var report = await VerifyAsync("run-1");

        Assert.False(report.Valid);
        Assert.Equal(3, report.Broken!.Position);
        Assert.Contains("tail was removed", report.Broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TailRewrittenWithRecomputedHashes_IsDetectedAgainstTheSignedHead()
    {
        var records = await RunWithCheckpointAsync("run-1", 5);
        // A forger who knows the scheme: changes record 3 and recomputes every hash after it.
        var forged = records.Take(3).ToList();
        var previous = forged[^1].Hash;
        foreach (var r in records.Skip(3))
        {
            var content = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(r.Content).Replace("\"ok\"", "\"fine\"", StringComparison.Ordinal));
            var hash = AuditChain.Link(previous, content);
            forged.Add(r with { Content = content, Hash = hash });
            previous = hash;
        }
        _audit.Store.Overwrite("run-1", forged);

        var report = await VerifyAsync("run-1");

        Assert.False(report.Valid);
        Assert.Equal(4, report.Broken!.Position);
        Assert.Contains("rewritten", report.Broken.Reason, StringComparison.Ordinal);
        Assert.Equal(records[4].Hash, report.Broken.Expected);
    }

    [Fact]
    public async Task DeletedRun_IsDetectedByTheCheckpointThatSignedIt()
    {
        await RunWithCheckpointAsync("run-1", 5);
        _audit.Store.Overwrite("run-1", []);

        var report = await (await _audit.VerifierAsync(Ct)).VerifyAsync(null, Ct);

        Assert.False(report.Valid);
        var chain = report.Chains.Single(c => c.Chain == "run-1");
        Assert.Contains("gone", chain.Broken!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlteredCheckpoint_FailsItsSignature()
    {
        await RunWithCheckpointAsync("run-1", 5);
        var line = await FirstCheckpointAsync();
        var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line).Replace("\"length\":5", "\"length\":4", StringComparison.Ordinal));
        _audit.Checkpoints.Overwrite(0, altered);

        var report = await (await _audit.VerifierAsync(Ct)).VerifyAsync(null, Ct);

        Assert.False(report.Valid);
        Assert.Contains("signature", report.Checkpoints.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckpointSignedByAnotherKey_IsNotTrusted()
    {
        await RunWithCheckpointAsync("run-1", 2);
        using var other = new TestAudit();

        var report = await new AuditVerifier(_audit.Store, _audit.Checkpoints, [await other.Signer.PublicKeyAsync(Ct)]).VerifyAsync(null, Ct);

        Assert.False(report.Checkpoints.Valid);
        Assert.Contains("not a trusted key", report.Checkpoints.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordsAfterTheLastCheckpoint_VerifyAndAreReportedAsUncovered()
    {
        await RunWithCheckpointAsync("run-1", 3);
        await _audit.Log.AppendAsync("run-1", new AuditEntry("late", AuditKinds.Observation, At, AgenticJson.ToElement(new { late = true })), AuditConflict.Refuse, Ct);

        var report = await VerifyAsync("run-1");

        Assert.True(report.Valid);
        Assert.Equal(4, report.Records);
        Assert.Equal(1, report.Uncovered);
    }

    [Fact]
    public async Task Checkpoints_LinkEachToThePrevious_AndARemovedOneIsDetected()
    {
        await RunWithCheckpointAsync("run-a", 1);
        await RunWithCheckpointAsync("run-b", 1);
        await RunWithCheckpointAsync("run-c", 1);
        var second = await CheckpointAsync(1);
        _audit.Checkpoints.Overwrite(1, await CheckpointAsync(2));

        var report = await (await _audit.VerifierAsync(Ct)).VerifyAsync(null, Ct);

        Assert.False(report.Checkpoints.Valid);
        Assert.NotEqual(second, await CheckpointAsync(1));
        Assert.Contains("numbered", report.Checkpoints.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(600)]
    [InlineData(8191)]
    [InlineData(8192)]
    [InlineData(19_999)]
    public async Task LongChain_VerifiedInParallelChunks_NamesTheEditedPosition(int edited)
    {
        // 20,000 records: three chunks, hashed in parallel; an edit anywhere is found at its position (-1: none).
        var records = new List<StoredAuditRecord>();
        var previous = AuditChain.Genesis;
        for (var i = 0; i < 20_000; i++)
        {
            var content = AuditChain.Content("run-long", i, new AuditEntry($"r{i}", AuditKinds.Observation, At, AgenticJson.ToElement(new { i })));
            previous = AuditChain.Link(previous, content);
            records.Add(new StoredAuditRecord(i, $"r{i}", content, previous));
        }
        if (edited >= 0)
        {
            records[edited] = records[edited] with { Content = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(records[edited].Content).Replace("\"i\":", "\"j\":", StringComparison.Ordinal)) };
        }
        _audit.Store.Overwrite("run-long", records);

        var report = await VerifyAsync("run-long");

        Assert.Equal(edited < 0, report.Valid);
        Assert.Equal(edited < 0 ? null : edited, report.Broken?.Position);
        Assert.Equal(edited < 0 ? 20_000 : edited, report.Records);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(13)]
    public void MerkleProof_OfEveryLeaf_LeadsToTheRoot_AndNotToAnotherLeaf(int size)
    {
        var leaves = Enumerable.Range(0, size).Select(i => new CheckpointLeaf($"run-{i}", i + 1, AgenticJson.Digest($"head-{i}"))).ToList();
        var root = Merkle.Root(leaves);
        for (var i = 0; i < size; i++)
        {
            var proof = Merkle.Proof(leaves, i);
            Assert.True(Merkle.VerifyInclusion(leaves[i], i, size, proof, root));
            Assert.False(Merkle.VerifyInclusion(leaves[i] with { Length = 999 }, i, size, proof, root));
        }
    }

    private async Task<byte[]> FirstCheckpointAsync() => await CheckpointAsync(0);

    private async Task<byte[]> CheckpointAsync(int index)
    {
        var i = 0;
        await foreach (var c in _audit.Checkpoints.ReadAllAsync(Ct))
        {
            if (i++ == index)
            {
                return c.Line;
            }
        }
        throw new InvalidOperationException($"No checkpoint {index}.");
    }
}
