using System.Globalization;
using System.Text.Json;
using Agentic.Core.Json;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// The table layout and the writes the lifecycle stores share (<see cref="TablePolicyStore"/>, <see cref="TableAgentStore"/>):
/// <list type="bullet">
/// <item>partition <c>versions</c>, row <c>{name}|{version}</c>: one immutable row per version, its YAML text split over
/// <c>Yaml0</c>, <c>Yaml1</c>, ... with their count in <c>YamlChunks</c> (a table property holds 32K characters);</item>
/// <item>partition <c>lifecycle</c>, row <c>active</c>: the active set, changed only with its ETag (If-Match);</item>
/// <item>partition <c>lifecycle</c>, rows <c>history|{inverted ticks}-{suffix}</c>: the history, newest first.</item>
/// </list>
/// A change of the active set and its history row are written in one entity-group transaction, so every change is in
/// the history and the history holds no change that did not happen.
/// </summary>
internal sealed class LifecycleTable(TableClient table)
{
    private const string VersionsPartition = "versions";
    private const string LifecyclePartition = "lifecycle";
    private const string ActiveRow = "active";
    private const string HistoryPrefix = "history|";
    private const int ChunkChars = 30_000;
    private const int MaxAttempts = 10;

    /// <summary>The table.</summary>
    public TableClient Table => table;

    /// <summary>A new version row of <paramref name="name"/> <paramref name="version"/> holding <paramref name="yaml"/>.</summary>
    public static TableEntity VersionEntity(string name, string version, string yaml)
    {
        var row = new TableEntity(VersionsPartition, VersionRow(name, version));
        PutChunks(row, "Yaml", yaml);
        return row;
    }

    /// <summary>The YAML text of a version row.</summary>
    public static string Yaml(TableEntity row) => Chunks(row, "Yaml");

    /// <summary>Inserts a version row: <c>true</c>, or <c>false</c> when the version is stored already (a version is immutable).</summary>
    public async Task<bool> TryAddVersionAsync(TableEntity row, CancellationToken cancellationToken)
    {
        try
        {
            // Add, never upsert: a stored version is immutable.
            await table.AddEntityAsync(row, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <summary>The version row of <paramref name="name"/> <paramref name="version"/> (only the <paramref name="select"/>ed columns), or <c>null</c>.</summary>
    public Task<TableEntity?> ReadVersionAsync(string name, string version, CancellationToken cancellationToken, IEnumerable<string>? select = null) =>
        ReadAsync(VersionsPartition, VersionRow(name, version), cancellationToken, select);

    /// <summary>Every version row, or those of <paramref name="name"/>, with the <paramref name="select"/>ed columns.</summary>
    public async Task<List<TableEntity>> ListVersionsAsync(string? name, IEnumerable<string> select, CancellationToken cancellationToken)
    {
        var filter = name is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition}")
            // '}' follows '|', so the range holds exactly the rows of this name.
            : TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition} and RowKey ge {name + "|"} and RowKey lt {name + "}"}");
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, select: select, cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>The active row, or <c>null</c> before the first change.</summary>
    public Task<TableEntity?> ReadActiveAsync(CancellationToken cancellationToken) => ReadAsync(LifecyclePartition, ActiveRow, cancellationToken);

    /// <summary>
    /// Reads the active row, applies <paramref name="change"/> to the set <paramref name="read"/> makes of it, and writes
    /// the new set (<paramref name="write"/> fills the row) with its history row (<paramref name="history"/> fills it, keyed by
    /// the time <paramref name="at"/> gives) in
    /// one transaction, If-Match the ETag read; another writer in between means read again and retry, at most
    /// <see cref="MaxAttempts"/> times, then <paramref name="tooBusy"/>.
    /// </summary>
    public async Task<TSet> ChangeAsync<TSet, TEvent>(
        Func<TableEntity?, TSet> read,
        Func<TSet, (TSet Set, TEvent Event)?> change,
        Action<TableEntity, TSet> write,
        Action<TableEntity, TEvent> history,
        Func<TEvent, DateTimeOffset> at,
        Func<int, Exception, Exception> tooBusy,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var row = await ReadActiveAsync(cancellationToken);
            var current = read(row);
            if (change(current) is not { } next)
            {
                return current;
            }
            var active = new TableEntity(LifecyclePartition, ActiveRow);
            write(active, next.Set);
            var entry = new TableEntity(LifecyclePartition, HistoryRow(at(next.Event)));
            history(entry, next.Event);
            TableTransactionAction[] actions =
            [
                row is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, active)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, active, row.ETag),
                new TableTransactionAction(TableTransactionActionType.Add, entry),
            ];
            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
                return next.Set;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another change landed between the read and the write: apply this one to what is there now.
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
            {
                throw tooBusy(MaxAttempts, ex);
            }
        }
    }

    /// <summary>The newest <paramref name="max"/> history entries (their <c>Json</c> column), of <paramref name="name"/> only when given.</summary>
    public async Task<List<TEvent>> HistoryAsync<TEvent>(string? name, int max, CancellationToken cancellationToken)
    {
        var events = new List<TEvent>();
        if (max <= 0)
        {
            return events;
        }
        var filter = name is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {LifecyclePartition} and RowKey ge {HistoryPrefix} and RowKey lt {"history}"}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {LifecyclePartition} and RowKey ge {HistoryPrefix} and RowKey lt {"history}"} and Name eq {name}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Clamp(max, 1, 1000), select: ["Json"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is { } json)
            {
                events.Add(JsonSerializer.Deserialize<TEvent>(json, AgenticJson.Options)!);
            }
            if (events.Count >= max)
            {
                break;
            }
        }
        return events;
    }

    /// <summary>Writes <paramref name="text"/>, longer than a table property holds, over numbered properties and their count.</summary>
    public static void PutChunks(TableEntity row, string prefix, string text)
    {
        row[prefix + "Chunks"] = (text.Length + ChunkChars - 1) / ChunkChars;
        for (var i = 0; i * ChunkChars < text.Length; i++)
        {
            row[prefix + i.ToString(CultureInfo.InvariantCulture)] = text.Substring(i * ChunkChars, Math.Min(ChunkChars, text.Length - (i * ChunkChars)));
        }
    }

    /// <summary>The text <see cref="PutChunks"/> wrote.</summary>
    public static string Chunks(TableEntity row, string prefix) =>
        string.Concat(Enumerable.Range(0, row.GetInt32(prefix + "Chunks") ?? 0).Select(i => row.GetString(prefix + i.ToString(CultureInfo.InvariantCulture)) ?? ""));

    private async Task<TableEntity?> ReadAsync(string partition, string rowKey, CancellationToken cancellationToken, IEnumerable<string>? select = null)
    {
        try
        {
            return (await table.GetEntityAsync<TableEntity>(partition, rowKey, select, cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "ResourceNotFound")
        {
            // No such row. A missing table (TableNotFound) is not this case, and throws: the gate fails closed, and no
            // agent is admitted on a guess.
            return null;
        }
    }

    // Inverted ticks sort the newest first; the suffix keeps two entries of the same tick apart.
    private static string HistoryRow(DateTimeOffset at) =>
        HistoryPrefix + (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];

    private static string VersionRow(string name, string version) => name + "|" + version;
}
