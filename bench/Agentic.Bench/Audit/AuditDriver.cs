using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Agentic.Azure;
using Agentic.Bench.Load;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Agentic.Bench.Load.Report;

namespace Agentic.Bench.Audit;

/// <summary>
/// <c>audit</c>: the audit trail's two costs, each against a baseline measured in the same run. Append: N records through
/// <see cref="AuditLog"/> on <see cref="TableAuditStore"/> (hash, conditional entity-group transaction) against N raw
/// inserts of the same record rows into the same Azurite, alternated in rounds. Verification: a chain of M records
/// (default 100,000) verified from memory, against SHA-256 over the same contents alone (the floor), and read back
/// from Azurite.
/// </summary>
internal static class AuditDriver
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var records = 2_000;
        var verifyRecords = 100_000;
        var rounds = 10;
        foreach (var (name, value) in OptionReader.Pairs(args))
        {
            switch (name)
            {
                case "--records": records = OptionReader.Int(name, value, 10, 1_000_000); break;
                case "--verify-records": verifyRecords = OptionReader.Int(name, value, 10, 10_000_000); break;
                case "--rounds": rounds = OptionReader.Int(name, value, 1, 100); break;
                default: throw new ArgumentException($"Unknown option {name}.");
            }
        }
        Say(F($"Agentic audit: append {records} records (raw insert vs. audit append, {rounds} alternating rounds), verify {verifyRecords} records; {Environment.ProcessorCount} cores, load average {LoadAverage()}."));
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        var hub = Hubs.New("auditbench");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgenticStorage"] = azurite.ConnectionString, ["Agentic:HubName"] = hub }).Build();
        var storage = new StorageClients(configuration, Options.Create(new AgenticStorageOptions { HubName = hub }));
        var store = new TableAuditStore(storage);
        await store.Table.CreateIfNotExistsAsync();

        var ok = await AppendAsync(store, records, rounds);
        ok &= await VerifyAsync(store, verifyRecords);
        Say($"load average at the end: {LoadAverage()}");
        return ok ? 0 : 1;
    }

    // A record as a governed step writes it: an action outcome with digests, about 400 bytes of canonical JSON.
    private static AuditEntry Entry(int i) => new(
        $"s{i}/act/outcome", AuditKinds.ActionOutcome, DateTimeOffset.UnixEpoch.AddSeconds(i),
        AgenticJson.ToElement(new { stepId = $"s{i}", tool = "sample.diagnostics", succeeded = true, statusCode = 200, resultDigest = AgenticJson.Digest($"result-{i}"), replayed = false, durationMs = 12.5 }),
        [$"s{i}/act"]);

    private static async Task<bool> AppendAsync(TableAuditStore store, int records, int rounds)
    {
        Say("");
        Say("== append: one chain, one writer (its head cached, as an activity host appending to the runs it executes)");
        var log = new AuditLog(store, new AuditHeads());
        var raw = new List<double>(records);
        var rawBatch = new List<double>(records);
        var audited = new List<double>(records);
        var perRound = Math.Max(1, records / rounds);
        var rawChain = "run-raw-" + Guid.NewGuid().ToString("N");
        var batchChain = "run-batch-" + Guid.NewGuid().ToString("N");
        var auditChain = "run-audit-" + Guid.NewGuid().ToString("N");
        // Warm both paths (connections, JIT) before timing.
        await store.Table.AddEntityAsync(new TableEntity("warm", "r0") { ["Json"] = "{}" });
        await log.AppendAsync("warm", Entry(0), AuditConflict.Refuse, default);
        var previous = AuditChain.Genesis;
        var next = 0;
        // The baselines hash like the chain does (outside the timed call), so their rows hold the same bytes.
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < perRound; i++)
            {
                // The baseline: the record's row as the store writes it (same columns, same content), a plain insert.
                var n = next + i;
                var content = AuditChain.Content(rawChain, n, Entry(n));
                var hash = AuditChain.Link(previous, content);
                previous = hash;
                var entity = new TableEntity(rawChain, TableAuditStore.RecordRow(n)) { ["Id"] = $"s{n}/act/outcome", ["Json"] = Encoding.UTF8.GetString(content), ["Hash"] = hash };
                var started = Stopwatch.GetTimestamp();
                await store.Table.AddEntityAsync(entity);
                raw.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            for (var i = 0; i < perRound; i++)
            {
                // The same three entities an append writes (head, record row, id row), in one unconditional transaction:
                // the storage cost of the append without its hashing, conditions and checks.
                var n = next + i;
                var content = AuditChain.Content(batchChain, n, Entry(n));
                var hash = AuditChain.Link(previous, content);
                TableTransactionAction[] actions =
                [
                    new(TableTransactionActionType.UpsertReplace, new TableEntity(batchChain, "head") { ["Length"] = (long)n + 1, ["Hash"] = hash }),
                    new(TableTransactionActionType.Add, new TableEntity(batchChain, TableAuditStore.RecordRow(n)) { ["Id"] = $"s{n}/act/outcome", ["Json"] = Encoding.UTF8.GetString(content), ["Hash"] = hash }),
                    new(TableTransactionActionType.Add, new TableEntity(batchChain, $"i|s{n}%2Fact%2Foutcome") { ["Seq"] = (long)n, ["Hash"] = hash }),
                ];
                var started = Stopwatch.GetTimestamp();
                await store.Table.SubmitTransactionAsync(actions);
                rawBatch.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            for (var i = 0; i < perRound; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await log.AppendAsync(auditChain, Entry(next + i), AuditConflict.Refuse, default);
                audited.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            next += perRound;
        }
        var rawMean = raw.Average();
        var batchMean = rawBatch.Average();
        var auditMean = audited.Average();
        Say(F($"   raw insert, record row only        : {raw.Count} rows, mean {rawMean:0.00} ms, p50 {Stats.Percentile(raw, 50):0.00} ms, p95 {Stats.Percentile(raw, 95):0.00} ms, {1000 / rawMean:0} rows/s"));
        Say(F($"   raw insert, the append's 3 entities: {rawBatch.Count} transactions, mean {batchMean:0.00} ms, p50 {Stats.Percentile(rawBatch, 50):0.00} ms, p95 {Stats.Percentile(rawBatch, 95):0.00} ms, {1000 / batchMean:0} /s"));
        Say(F($"   audit append                       : {audited.Count} records, mean {auditMean:0.00} ms, p50 {Stats.Percentile(audited, 50):0.00} ms, p95 {Stats.Percentile(audited, 95):0.00} ms, {1000 / auditMean:0} records/s"));
        Say(F($"   ratio audit / raw insert of the same entities: mean {auditMean / batchMean:0.00}x, p50 {Stats.Percentile(audited, 50) / Stats.Percentile(rawBatch, 50):0.00}x (target <= 1.2)"));
        Say(F($"   ratio audit / one plain row (no id index, no head): mean {auditMean / rawMean:0.00}x, p50 {Stats.Percentile(audited, 50) / Stats.Percentile(raw, 50):0.00}x"));
        var report = await new AuditVerifier(store, new InMemoryCheckpointStore(), []).VerifyChainAsync(auditChain, null, null, default);
        if (!report.Valid || report.Records != audited.Count)
        {
            Say($"FAILED: the appended chain does not verify: {report.Broken?.Reason} ({report.Records} records)");
            return false;
        }
        return true;
    }

    private static async Task<bool> VerifyAsync(TableAuditStore store, int count)
    {
        Say("");
        Say(F($"== verify: a chain of {count} records"));
        var chain = "run-verify-" + Guid.NewGuid().ToString("N");
        var records = new StoredAuditRecord[count];
        var previous = AuditChain.Genesis;
        for (var i = 0; i < count; i++)
        {
            var content = AuditChain.Content(chain, i, Entry(i));
            previous = AuditChain.Link(previous, content);
            records[i] = new StoredAuditRecord(i, $"s{i}/act/outcome", content, previous);
        }
        Say(F($"   mean record {records.Average(r => r.Content.Length):0} bytes of canonical JSON"));
        var memory = new InMemoryAuditStore();
        memory.Overwrite(chain, records);
        var verifier = new AuditVerifier(memory, new InMemoryCheckpointStore(), []);

        // The floor: SHA-256 over each content alone, no chaining, no reading.
        var floor = Best(15, () =>
        {
            Span<byte> hash = stackalloc byte[32];
            foreach (var r in records)
            {
                SHA256.HashData(r.Content, hash);
            }
            return Task.FromResult(true);
        });
        var fromMemory = Best(15, async () => (await verifier.VerifyChainAsync(chain, null, null, default)).Valid);
        var ok = (await fromMemory).Valid;
        var floorTime = (await floor).Time;
        var memoryTime = (await fromMemory).Time;
        Say(F($"   SHA-256 of the contents alone: {count / floorTime.TotalSeconds:N0} records/s (best of 15)"));
        Say(F($"   verify from memory:            {count / memoryTime.TotalSeconds:N0} records/s (best of 15; target >= 1,000,000), {memoryTime.TotalSeconds / floorTime.TotalSeconds:0.00}x the floor"));

        // The same records in Azurite, written in entity-group transactions of 100.
        var written = Stopwatch.StartNew();
        foreach (var batch in records.Chunk(100))
        {
            await store.Table.SubmitTransactionAsync(batch.Select(r => new TableTransactionAction(TableTransactionActionType.Add,
                new TableEntity(TableAuditStore.Partition(chain), TableAuditStore.RecordRow(r.Seq)) { ["Id"] = r.Id, ["Json"] = Encoding.UTF8.GetString(r.Content), ["Hash"] = r.Hash })));
        }
        Say(F($"   written to Azurite in {written.Elapsed.TotalSeconds:0.0} s"));
        var fromAzurite = Stopwatch.StartNew();
        var report = await new AuditVerifier(store, new InMemoryCheckpointStore(), []).VerifyChainAsync(chain, null, null, default);
        fromAzurite.Stop();
        Say(F($"   verify from Azurite:           {count / fromAzurite.Elapsed.TotalSeconds:N0} records/s ({fromAzurite.Elapsed.TotalSeconds:0.0} s, reading pages of 1,000)"));
        ok &= report.Valid && report.Records == count;
        if (!ok)
        {
            Say($"FAILED: the chain did not verify: {report.Broken?.Reason}");
        }
        return ok;
    }

    private static async Task<(TimeSpan Time, bool Valid)> Best(int times, Func<Task<bool>> work)
    {
        var best = TimeSpan.MaxValue;
        var valid = true;
        for (var i = 0; i < times; i++)
        {
            var clock = Stopwatch.StartNew();
            valid &= await work();
            best = clock.Elapsed < best ? clock.Elapsed : best;
        }
        return (best, valid);
    }
}
