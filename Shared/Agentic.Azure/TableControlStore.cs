using System.Globalization;
using System.Text.Json;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Kill switches and quarantines in the table <c>{hub}controls</c>: partition key the scope
/// (<c>global</c>, <c>agent</c>, <c>tool</c>), row key the target (<c>*</c> for global), one column per kind
/// holding the engaged control as JSON (empty when released). Every engage and release is also appended to
/// the partition <c>history</c>, newest first, so who did what, when and why is kept.
/// </summary>
/// <remarks>
/// Every engage and release also rewrites the row <c>version/*</c> (after the control row), so its ETag changes with
/// every change of the set. A check reads that one row and answers from the set it last listed under the same ETag;
/// only after a change does it list the set again. A check that starts after an engage has returned sees the new
/// ETag, so a cached set never lets a step through a switch that is engaged: it costs one point read instead of three.
/// </remarks>
public sealed class TableControlStore(StorageClients clients, TimeProvider clock) : IControlStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "controls";

    private const string HistoryPartition = "history";

    private const string VersionPartition = "version";

    private readonly Lock _gate = new();

    private (ETag Version, IReadOnlyList<ControlState> Active)? _cached;

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        Controls.Validate(scope, target, kind, reason, by);
        var control = new ControlState(scope, target, kind, reason, by, clock.GetUtcNow());
        var row = new TableEntity(Controls.Name(scope), RowKey(target))
        {
            [Column(kind)] = JsonSerializer.Serialize(control, AgenticJson.Options),
        };
        // History first: an engage that is in force is always in the history too.
        await AppendAsync(new ControlEvent("engage", scope, target, kind, reason, by, control.EngagedAt), cancellationToken);
        await _table.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
        await BumpVersionAsync(cancellationToken);
        return control;
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken)
    {
        Controls.Validate(scope, target, kind, reason, by);
        var partition = Controls.Name(scope);
        var rowKey = RowKey(target);
        var existing = await ReadAsync(partition, rowKey, cancellationToken);
        if (existing is null || string.IsNullOrEmpty(existing.GetString(Column(kind))))
        {
            return false;
        }
        await AppendAsync(new ControlEvent("release", scope, target, kind, reason, by, clock.GetUtcNow()), cancellationToken);
        await _table.UpsertEntityAsync(new TableEntity(partition, rowKey) { [Column(kind)] = "" }, TableUpdateMode.Merge, cancellationToken);
        await BumpVersionAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken)
    {
        // One point read of the version row; a missing table or an unreachable service throws, and the gate fails closed.
        var version = (await ReadAsync(VersionPartition, "*", cancellationToken))?.ETag ?? default;
        var cached = _cached;
        IReadOnlyList<ControlState> active;
        if (cached is { } hit && hit.Version == version)
        {
            active = hit.Active;
        }
        else
        {
            active = await ListEngagedAsync(cancellationToken);
            lock (_gate)
            {
                _cached = (version, active);
            }
        }
        return [.. active.Where(c => Controls.AppliesTo(c, agent, tool))];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken) => ListEngagedAsync(cancellationToken);

    private async Task<IReadOnlyList<ControlState>> ListEngagedAsync(CancellationToken cancellationToken)
    {
        var filter = $"PartitionKey ne '{HistoryPartition}' and PartitionKey ne '{VersionPartition}'";
        var active = new List<ControlState>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            active.AddRange(Engaged(row));
        }
        return active;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken)
    {
        var events = new List<ControlEvent>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {HistoryPartition}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Clamp(max, 1, 1000), cancellationToken: cancellationToken))
        {
            if (events.Count >= max)
            {
                break;
            }
            if (row.GetString("Json") is { } json)
            {
                events.Add(JsonSerializer.Deserialize<ControlEvent>(json, AgenticJson.Options)!);
            }
        }
        return events;
    }

    // Replaced whole, so its ETag changes on every write.
    private Task<Response> BumpVersionAsync(CancellationToken cancellationToken) =>
        _table.UpsertEntityAsync(new TableEntity(VersionPartition, "*") { ["Changed"] = clock.GetUtcNow() }, TableUpdateMode.Replace, cancellationToken);

    private async Task AppendAsync(ControlEvent entry, CancellationToken cancellationToken)
    {
        // Inverted ticks sort the newest first; the suffix keeps two entries of the same tick apart.
        var rowKey = (DateTimeOffset.MaxValue.UtcTicks - entry.At.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        await _table.AddEntityAsync(new TableEntity(HistoryPartition, rowKey)
        {
            ["Action"] = entry.Action,
            ["Scope"] = Controls.Name(entry.Scope),
            ["Target"] = entry.Target,
            ["Kind"] = Controls.Name(entry.Kind),
            ["Reason"] = entry.Reason,
            ["By"] = entry.By,
            ["At"] = entry.At,
            ["Json"] = JsonSerializer.Serialize(entry, AgenticJson.Options),
        }, cancellationToken);
    }

    private async Task<TableEntity?> ReadAsync(string partition, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            return (await _table.GetEntityAsync<TableEntity>(partition, rowKey, cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "ResourceNotFound")
        {
            // No such row: nothing engaged there. A missing table (TableNotFound) is not this case, and throws.
            return null;
        }
    }

    private static IEnumerable<ControlState> Engaged(TableEntity row)
    {
        foreach (var kind in new[] { ControlKind.KillSwitch, ControlKind.Quarantine })
        {
            if (row.GetString(Column(kind)) is { Length: > 0 } json)
            {
                yield return JsonSerializer.Deserialize<ControlState>(json, AgenticJson.Options)!;
            }
        }
    }

    private static string Column(ControlKind kind) => kind == ControlKind.KillSwitch ? "KillSwitch" : "Quarantine";

    private static string RowKey(string? target) => target ?? "*";
}
