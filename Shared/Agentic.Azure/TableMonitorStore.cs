using System.Globalization;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Monitors;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Monitors' state, ticks and incidents in the table <c>{hub}monitors</c>, one partition per monitor:
/// <list type="bullet">
/// <item><c>state</c>: the occurrence of the last tick and its number. A claim replaces it under its ETag and inserts the
/// tick in one entity-group transaction, so of hosts that evaluate the same occurrence exactly one ticks.</item>
/// <item><c>t|{inverted number}</c>: a tick record, newest first; completing tick <c>n</c> deletes tick <c>n - kept</c>, so a
/// monitor keeps its last <see cref="MonitorOptions.TicksKept"/> at one extra request per tick.</item>
/// <item><c>i|{incident id}</c>: an incident and the run of its current occurrence, replaced under its ETag.</item>
/// </list>
/// </summary>
public sealed class TableMonitorStore(StorageClients clients) : IMonitorStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "monitors";

    private const string StateRow = "state";
    private const string TickPrefix = "t|";
    private const string IncidentPrefix = "i|";

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<MonitorState> GetStateAsync(string monitor, CancellationToken cancellationToken)
    {
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(monitor, StateRow, cancellationToken: cancellationToken);
        return row.HasValue && row.Value is { } state
            ? new MonitorState(state.GetDateTimeOffset("LastScheduled"), state.GetInt64("Seq") ?? 0, state.ETag.ToString())
            : new MonitorState(null, 0, null);
    }

    /// <inheritdoc />
    public async Task<MonitorTick?> ClaimAsync(MonitorState state, MonitorTick tick, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tick);
        var next = new TableEntity(tick.Monitor, StateRow) { ["LastScheduled"] = tick.ScheduledAt, ["Seq"] = tick.Seq };
        TableTransactionAction[] actions =
        [
            state.ETag is null
                ? new TableTransactionAction(TableTransactionActionType.Add, next)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, next, new ETag(state.ETag)),
            new TableTransactionAction(TableTransactionActionType.Add, TickRow(tick)),
        ];
        try
        {
            await _table.SubmitTransactionAsync(actions, cancellationToken);
            return tick;
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task CompleteAsync(MonitorTick tick, int keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tick);
        await _table.UpsertEntityAsync(TickRow(tick), TableUpdateMode.Replace, cancellationToken);
        if (tick.Seq > keep)
        {
            try
            {
                await _table.DeleteEntityAsync(tick.Monitor, TickKey(tick.Seq - keep), ETag.All, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Deleted already (a tick that was never completed leaves its successor's trim nothing to do).
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MonitorTick>> ListTicksAsync(string monitor, int max, CancellationToken cancellationToken)
    {
        var ticks = new List<MonitorTick>();
        if (max <= 0)
        {
            return ticks;
        }
        // '}' follows '|': the range holds exactly the tick rows, newest first.
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {monitor} and RowKey ge {TickPrefix} and RowKey lt {"t}"}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is { Length: > 0 } json)
            {
                ticks.Add(JsonSerializer.Deserialize<MonitorTick>(json, AgenticJson.Options)!);
            }
            if (ticks.Count == max)
            {
                break;
            }
        }
        return ticks;
    }

    /// <inheritdoc />
    public async Task<MonitorIncident?> GetIncidentAsync(string monitor, string incidentId, CancellationToken cancellationToken)
    {
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(monitor, IncidentPrefix + incidentId, cancellationToken: cancellationToken);
        return row.HasValue && row.Value is { } entity && entity.GetString("Json") is { Length: > 0 } json
            ? JsonSerializer.Deserialize<MonitorIncident>(json, AgenticJson.Options)! with { ETag = entity.ETag.ToString() }
            : null;
    }

    /// <inheritdoc />
    public async Task<MonitorIncident?> SaveIncidentAsync(string monitor, MonitorIncident incident, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var entity = new TableEntity(monitor, IncidentPrefix + incident.Id)
        {
            ["RunId"] = incident.RunId,
            ["Occurrence"] = incident.Occurrence,
            ["Json"] = JsonSerializer.Serialize(incident with { ETag = null }, AgenticJson.Options),
        };
        try
        {
            var response = incident.ETag is null
                ? await _table.AddEntityAsync(entity, cancellationToken)
                : await _table.UpdateEntityAsync(entity, new ETag(incident.ETag), TableUpdateMode.Replace, cancellationToken);
            return incident with { ETag = response.Headers.ETag?.ToString() };
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null;
        }
    }

    private static TableEntity TickRow(MonitorTick tick) => new(tick.Monitor, TickKey(tick.Seq))
    {
        ["Outcome"] = tick.Outcome,
        ["ScheduledAt"] = tick.ScheduledAt,
        ["RunId"] = tick.RunId,
        ["Json"] = JsonSerializer.Serialize(tick, AgenticJson.Options),
    };

    // Inverted, so a partition lists its newest ticks first.
    private static string TickKey(long seq) => TickPrefix + (long.MaxValue - seq).ToString("D19", CultureInfo.InvariantCulture);
}
