using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Agentic.Core.Audit;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Audit chains in one table (<c>{hub}audit</c>), one partition per chain (the run id, or <c>control</c>). Row keys:
/// <c>r{seq:D12}</c> for records in sequence order (content as canonical JSON, chain hash), <c>i|{id}</c> for the id
/// index (seq, hash), and <c>head</c> (length, hash). An append is one entity-group transaction: the head replaced under
/// its ETag, the record and its id row inserted; so two writers never take one position, and an id is stored once.
/// </summary>
public sealed class TableAuditStore(StorageClients clients) : IAuditStore
{
    /// <summary>The table's name after the hub name.</summary>
    public const string TableSuffix = "audit";

    private const string HeadRow = "head";
    private const string RecordPrefix = "r";
    private const string IdPrefix = "i|";

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for provisioning and for tools that read it as it is.</summary>
    public TableClient Table => _table;

    /// <summary>The row key of the record at <paramref name="seq"/>.</summary>
    public static string RecordRow(long seq) => RecordPrefix + seq.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>The partition key of <paramref name="chain"/>.</summary>
    public static string Partition(string chain) => Escape(chain);

    /// <inheritdoc />
    public async Task<AuditHead?> GetHeadAsync(string chain, CancellationToken cancellationToken)
    {
        var response = await _table.GetEntityIfExistsAsync<TableEntity>(Partition(chain), HeadRow, cancellationToken: cancellationToken);
        return response.HasValue ? ToHead(response.Value!) : null;
    }

    /// <inheritdoc />
    public async Task<AuditAppendResult> TryAppendAsync(string chain, AuditHead? expected, StoredAuditRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var partition = Partition(chain);
        var head = new TableEntity(partition, HeadRow) { ["Length"] = record.Seq + 1, ["Hash"] = record.Hash };
        var actions = new List<TableTransactionAction>
        {
            expected is null
                ? new TableTransactionAction(TableTransactionActionType.Add, head)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, head, new ETag(expected.Version)),
            new(TableTransactionActionType.Add, new TableEntity(partition, RecordRow(record.Seq))
            {
                ["Id"] = record.Id,
                ["Json"] = Encoding.UTF8.GetString(record.Content),
                ["Hash"] = record.Hash,
            }),
            new(TableTransactionActionType.Add, new TableEntity(partition, IdPrefix + Escape(record.Id)) { ["Seq"] = record.Seq, ["Hash"] = record.Hash }),
        };
        try
        {
            var response = await _table.SubmitTransactionAsync(actions, cancellationToken);
            var etag = response.Value[0].Headers.ETag ?? throw new InvalidOperationException("The audit table answered an append without the head's ETag.");
            return new AuditAppendResult(AuditAppendStatus.Appended, new AuditHead(record.Seq + 1, record.Hash, etag.ToString()));
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            // Whichever entity refused, the answer is one of two: the id is taken (its record is what the chain holds),
            // or another writer moved the head.
            return await FindAsync(chain, record.Id, cancellationToken) is { } existing
                ? new AuditAppendResult(AuditAppendStatus.IdTaken, await GetHeadAsync(chain, cancellationToken), existing)
                : new AuditAppendResult(AuditAppendStatus.HeadMoved);
        }
    }

    /// <inheritdoc />
    public async Task<StoredAuditRecord?> FindAsync(string chain, string id, CancellationToken cancellationToken)
    {
        var partition = Partition(chain);
        var index = await _table.GetEntityIfExistsAsync<TableEntity>(partition, IdPrefix + Escape(id), cancellationToken: cancellationToken);
        if (!index.HasValue || index.Value!.GetInt64("Seq") is not { } seq)
        {
            return null;
        }
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(partition, RecordRow(seq), cancellationToken: cancellationToken);
        return row.HasValue ? ToRecord(row.Value!) : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredAuditRecord> ReadAsync(string chain, long from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partition = Partition(chain);
        // Record rows sort by position: 'r' + 12 digits, all below the head row and the 'i|' rows... which sort before
        // them ('i' < 'r'), so the range starts at the first record row asked for and ends before 's'.
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {RecordRow(Math.Max(0, from))} and RowKey lt {"s"}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken))
        {
            yield return ToRecord(row);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListChainsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey eq {HeadRow}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: ["PartitionKey"], cancellationToken: cancellationToken))
        {
            yield return Unescape(row.PartitionKey);
        }
    }

    /// <inheritdoc />
    public async Task DeleteChainAsync(string chain, CancellationToken cancellationToken)
    {
        var partition = Partition(chain);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        var rows = new List<string>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            if (row.RowKey != HeadRow)
            {
                rows.Add(row.RowKey);
            }
        }
        // A transaction takes at most 100 operations; the head goes last, alone, so the chain stays listed until its
        // records are gone.
        foreach (var batch in rows.Chunk(100))
        {
            await _table.SubmitTransactionAsync(batch.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, r), ETag.All)), cancellationToken);
        }
        await _table.DeleteEntityAsync(partition, HeadRow, ETag.All, cancellationToken);
    }

    private static AuditHead ToHead(TableEntity head) =>
        new(head.GetInt64("Length") ?? 0, head.GetString("Hash") ?? "", head.ETag.ToString());

    // A row that does not parse still comes back, with what could be read, so verification reports it where it is.
    private static StoredAuditRecord ToRecord(TableEntity row)
    {
        var seq = row.RowKey.Length == 13 && long.TryParse(row.RowKey.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1;
        return new StoredAuditRecord(seq, row.GetString("Id") ?? "", Encoding.UTF8.GetBytes(row.GetString("Json") ?? ""), row.GetString("Hash") ?? "");
    }

    // Keys may not hold '/', '\', '#', '?' or control characters; record ids hold '/' (command ids) and chains are run ids.
    private static string Escape(string key)
    {
        var builder = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
            {
                builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static string Unescape(string key) => Uri.UnescapeDataString(key);
}
