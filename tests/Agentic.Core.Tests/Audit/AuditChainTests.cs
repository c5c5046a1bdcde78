using System.Text;
using System.Text.Json;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Testing;

namespace Agentic.Core.Tests.Audit;

public sealed class AuditChainTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly TestAudit _audit = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _audit.Dispose();

    private static AuditEntry Entry(string id, string value, params string[] from) =>
        new(id, AuditKinds.Observation, At, AgenticJson.ToElement(new { value }), from);

    [Fact]
    public async Task Append_ChainsEachRecordToThePreviousOne_AndTheVerifierAgrees()
    {
        for (var i = 0; i < 5; i++)
        {
            await _audit.Log.AppendAsync("run-1", Entry($"r{i}", $"v{i}"), AuditConflict.Refuse, Ct);
        }
        var records = await ReadAsync("run-1");

        Assert.Equal([0L, 1, 2, 3, 4], records.Select(r => r.Seq));
        var previous = AuditChain.Genesis;
        foreach (var record in records)
        {
            Assert.Equal(AuditChain.Link(previous, record.Content), record.Hash);
            previous = record.Hash;
        }
        var report = await (await _audit.VerifierAsync(Ct)).VerifyAsync(["run-1"], Ct);
        Assert.True(report.Valid);
        Assert.Equal(5, report.Chains[0].Records);
    }

    [Fact]
    public async Task Find_ARecordThisLogAppended_IsAnsweredWithoutAStoreRead_AndAnyOtherFromTheStore()
    {
        var store = new CountingStore(new InMemoryAuditStore());
        var log = new AuditLog(store, new AuditHeads());
        var otherHost = new AuditLog(store, new AuditHeads());
        await log.AppendAsync("run-1", Entry("s1/gate", "permit"), AuditConflict.Refuse, Ct);
        await otherHost.AppendAsync("run-1", Entry("s1/approval/erin", "approve"), AuditConflict.Refuse, Ct);
        store.Finds = 0;

        var mine = await log.FindAsync("run-1", "s1/gate", Ct);
        Assert.Equal(0, store.Finds);
        var stored = await store.Inner.FindAsync("run-1", "s1/gate", Ct);
        Assert.Equal((stored!.Seq, stored.Hash, Encoding.UTF8.GetString(stored.Content)), (mine!.Seq, mine.Hash, Encoding.UTF8.GetString(mine.Content)));
        Assert.Equal("s1/approval/erin", (await log.FindAsync("run-1", "s1/approval/erin", Ct))!.Id);
        Assert.Null(await log.FindAsync("run-1", "s2/gate", Ct));
        Assert.Equal(2, store.Finds);

        // A chain deleted (an audit purge) is forgotten: nothing of it is answered from memory.
        await store.DeleteChainAsync("run-1", Ct);
        log.Forget("run-1");
        Assert.Null(await log.FindAsync("run-1", "s1/gate", Ct));
    }

    [Fact]
    public async Task Append_TheSameRecordAgain_IsANoOp_AndReturnsTheStoredOne()
    {
        var first = await _audit.Log.AppendAsync("run-1", Entry("decision", "permit"), AuditConflict.Refuse, Ct);
        // A redelivered writer: another time, same fact.
        var again = await _audit.Log.AppendAsync("run-1", Entry("decision", "permit") with { At = At.AddMinutes(5) }, AuditConflict.Refuse, Ct);

        Assert.True(first.Written);
        Assert.False(again.Written);
        Assert.Equal(first.Record.Hash, again.Record.Hash);
        Assert.Single(await ReadAsync("run-1"));
    }

    [Fact]
    public async Task Append_OtherContentUnderATakenId_IsRefused_AndTheStoredRecordStands()
    {
        await _audit.Log.AppendAsync("run-1", Entry("decision", "permit"), AuditConflict.Refuse, Ct);

        var ex = await Assert.ThrowsAsync<AuditConflictException>(() => _audit.Log.AppendAsync("run-1", Entry("decision", "forbid"), AuditConflict.Refuse, Ct));

        Assert.Contains("decision", ex.Message, StringComparison.Ordinal);
        var stored = Assert.Single(await ReadAsync("run-1"));
        Assert.Equal("permit", stored.Read().Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Append_OtherContentUnderATakenId_WithAmend_AppendsAnAmendment()
    {
        await _audit.Log.AppendAsync("run-1", Entry("perceive", "healthy"), AuditConflict.Amend, Ct);
        var amended = await _audit.Log.AppendAsync("run-1", Entry("perceive", "unhealthy"), AuditConflict.Amend, Ct);
        var repeated = await _audit.Log.AppendAsync("run-1", Entry("perceive", "unhealthy"), AuditConflict.Amend, Ct);

        Assert.Equal("perceive~2", amended.Record.Id);
        Assert.False(repeated.Written);
        Assert.Equal(["perceive", "perceive~2"], (await ReadAsync("run-1")).Select(r => r.Id));
    }

    [Fact]
    public async Task Append_FromManyWritersAtOnce_NeverForksTheChain()
    {
        // Two appenders over one store, each with its own cached head, as two hosts would be.
        var other = new AuditLog(_audit.Store, new AuditHeads());
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? _audit.Log : other).AppendAsync("run-1", Entry($"r{i}", $"v{i}"), AuditConflict.Refuse, Ct)));

        var records = await ReadAsync("run-1");
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), records.Select(r => r.Seq));
        Assert.Equal(40, records.Select(r => r.Id).Distinct().Count());
        Assert.True((await (await _audit.VerifierAsync(Ct)).VerifyAsync(["run-1"], Ct)).Valid);
    }

    [Fact]
    public async Task Content_IsTheCanonicalJsonOfTheRecord()
    {
        var appended = await _audit.Log.AppendAsync("run-1", Entry("accepted", "x"), AuditConflict.Refuse, Ct);

        Assert.Equal(
            "{\"at\":\"2026-12-02T10:00:00.0000000Z\",\"chain\":\"run-1\",\"data\":{\"value\":\"x\"},\"derivedFrom\":[],\"id\":\"accepted\",\"kind\":\"observation\",\"seq\":0,\"v\":1}",
            Encoding.UTF8.GetString(appended.Record.Content));
    }

    private async Task<List<StoredAuditRecord>> ReadAsync(string chain)
    {
        var list = new List<StoredAuditRecord>();
        await foreach (var r in _audit.Store.ReadAsync(chain, 0, Ct))
        {
            list.Add(r);
        }
        return list;
    }

    // Counts the record lookups that reach the store.
    private sealed class CountingStore(IAuditStore inner) : IAuditStore
    {
        public IAuditStore Inner => inner;

        public int Finds { get; set; }

        public Task<AuditHead?> GetHeadAsync(string chain, CancellationToken cancellationToken) => inner.GetHeadAsync(chain, cancellationToken);

        public Task<AuditAppendResult> TryAppendAsync(string chain, AuditHead? expected, StoredAuditRecord record, CancellationToken cancellationToken) =>
            inner.TryAppendAsync(chain, expected, record, cancellationToken);

        public Task<StoredAuditRecord?> FindAsync(string chain, string id, CancellationToken cancellationToken)
        {
            Finds++;
            return inner.FindAsync(chain, id, cancellationToken);
        }

        public IAsyncEnumerable<StoredAuditRecord> ReadAsync(string chain, long from, CancellationToken cancellationToken) => inner.ReadAsync(chain, from, cancellationToken);

        public IAsyncEnumerable<string> ListChainsAsync(CancellationToken cancellationToken) => inner.ListChainsAsync(cancellationToken);

        public Task DeleteChainAsync(string chain, CancellationToken cancellationToken) => inner.DeleteChainAsync(chain, cancellationToken);
    }
}
