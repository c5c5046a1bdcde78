using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Planning drift in the table <c>{hub}drift</c>: partition key the agent, row key <c>{run}|{command}|{kind}</c> (the
/// command's <c>/</c> written as <c>:</c>, which table keys can not hold and no command id has), the time in <c>At</c> and
/// the event as JSON. A row is inserted once: a second insert of the same key (a redelivered activity) is refused by
/// storage and changes nothing. A report reads the agent's partition for the window's rows; the retention sweep deletes the
/// rows older than the longest window.
/// </summary>
public sealed class TableDriftStore(StorageClients clients) : IDriftStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "drift";

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<bool> RecordAsync(DriftEvent drift, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drift);
        var row = new TableEntity(drift.Agent, RowKey(drift.RunId, drift.CommandId, drift.Kind))
        {
            ["At"] = drift.At,
            ["Kind"] = drift.Kind,
            ["Json"] = JsonSerializer.Serialize(drift.Capped(), AgenticJson.Options),
        };
        try
        {
            await _table.AddEntityAsync(row, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DriftEvent>> ListAsync(string agent, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(agent);
        var events = new List<DriftEvent>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {agent} and At ge {since.ToUniversalTime()} and At le {until.ToUniversalTime()}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: ["Json"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is { Length: > 0 } json && JsonSerializer.Deserialize<DriftEvent>(json, AgenticJson.Options) is { } drift)
            {
                events.Add(drift);
            }
        }
        return events;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads every partition for rows whose <c>At</c> is before the cutoff (keys only), and deletes them one by one; a row
    /// another host deleted first counts as gone.
    /// </remarks>
    public async Task<int> PurgeAsync(DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var filter = TableClient.CreateQueryFilter($"At lt {before.ToUniversalTime()}");
        var purged = 0;
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            try
            {
                await _table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
            }
            if (++purged == max)
            {
                break;
            }
        }
        return purged;
    }

    // Run ids, command ids and kinds hold no '|'; step ids no ':'.
    private static string RowKey(string runId, string commandId, string kind) => $"{runId}|{commandId.Replace('/', ':')}|{kind}";
}
