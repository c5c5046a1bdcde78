using System.Globalization;
using System.Text.Json;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Json;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Agent versions and the active set in the table <c>{hub}agents</c>, laid out as the policy store's
/// (<see cref="TablePolicyStore"/>):
/// <list type="bullet">
/// <item>partition <c>versions</c>, row <c>{name}|{version}</c>: one immutable row per version, its YAML text split over
/// <c>Yaml0</c>, <c>Yaml1</c>, ... (a table property holds 32K characters), with its hash and who saved it when;</item>
/// <item>partition <c>lifecycle</c>, row <c>active</c>: the active set as JSON (split the same way), changed only with its
/// ETag (If-Match), with its sequence in a column of its own;</item>
/// <item>partition <c>lifecycle</c>, rows <c>history|{inverted ticks}-{suffix}</c>: the history, newest first.</item>
/// </list>
/// A change of the active set and its history row are written in one entity-group transaction, so every change is in
/// the history and the history holds no change that did not happen.
/// </summary>
public sealed class TableAgentStore(StorageClients clients, TimeProvider clock) : IAgentStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "agents";

    private const string VersionsPartition = "versions";
    private const string LifecyclePartition = "lifecycle";
    private const string ActiveRow = "active";
    private const string HistoryPrefix = "history|";
    private const int ChunkChars = 30_000;
    private const int MaxAttempts = 10;
    private static readonly string[] InfoColumns = ["Name", "Version", "ContentHash", "SavedBy", "SavedAt"];

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        AgentLifecycle.ValidateSave(name, version, yaml, savedBy);
        var info = new AgentVersionInfo(name, version, AgentLifecycle.Hash(yaml), savedBy, clock.GetUtcNow());
        var row = new TableEntity(VersionsPartition, VersionRow(name, version))
        {
            ["Name"] = name,
            ["Version"] = version,
            ["ContentHash"] = info.ContentHash,
            ["SavedBy"] = savedBy,
            ["SavedAt"] = info.SavedAt,
        };
        PutChunks(row, "Yaml", yaml);
        try
        {
            // Add, never upsert: a stored version is immutable.
            await _table.AddEntityAsync(row, cancellationToken);
            return new AgentSaveResult(info, Created: true);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
        }
        var existing = await GetInfoAsync(name, version, cancellationToken)
            ?? throw new AgentConflictException($"Agent {AgentLifecycle.Name(name, version)} is being stored by someone else; try again.");
        return string.Equals(existing.ContentHash, info.ContentHash, StringComparison.Ordinal)
            ? new AgentSaveResult(existing, Created: false)
            : throw InMemoryAgentStore.Conflict(existing, info.ContentHash);
    }

    /// <inheritdoc />
    public async Task<StoredAgent?> GetAsync(string name, string version, CancellationToken cancellationToken)
    {
        if (AgentLifecycle.NameProblem(name, "name") is not null || AgentLifecycle.NameProblem(version, "version") is not null)
        {
            return null;
        }
        var row = await ReadAsync(VersionsPartition, VersionRow(name, version), cancellationToken);
        return row is null ? null : new StoredAgent(Info(row), Chunks(row, "Yaml"));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken)
    {
        var filter = name is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition}")
            // '}' follows '|', so the range holds exactly the rows of this name.
            : TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition} and RowKey ge {name + "|"} and RowKey lt {name + "}"}");
        var versions = new List<AgentVersionInfo>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: InfoColumns, cancellationToken: cancellationToken))
        {
            versions.Add(Info(row));
        }
        return [.. versions.OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];
    }

    /// <inheritdoc />
    public async Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken) =>
        Active(await ReadAsync(LifecyclePartition, ActiveRow, cancellationToken));

    /// <inheritdoc />
    public async Task<ActiveAgentSet> ActivateAsync(string name, string version, string by, string reason, CancellationToken cancellationToken)
    {
        AgentLifecycle.ValidateChange(by, reason);
        var info = (AgentLifecycle.NameProblem(name, "name") is null && AgentLifecycle.NameProblem(version, "version") is null ? await GetInfoAsync(name, version, cancellationToken) : null)
            ?? throw new AgentNotFoundException($"Agent {AgentLifecycle.Name(name, version)} is not stored.");
        return await ChangeAsync(current => AgentLifecycle.Activate(current, info, by, reason, clock.GetUtcNow()), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ActiveAgentSet?> DeactivateAsync(string name, string by, string reason, CancellationToken cancellationToken)
    {
        AgentLifecycle.ValidateChange(by, reason);
        var deactivated = false;
        var set = await ChangeAsync(current =>
        {
            var change = AgentLifecycle.Deactivate(current, name, by, reason, clock.GetUtcNow());
            deactivated = change is not null;
            return change;
        }, cancellationToken);
        return deactivated ? set : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken)
    {
        var events = new List<AgentEvent>();
        if (max <= 0)
        {
            return events;
        }
        var filter = name is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {LifecyclePartition} and RowKey ge {HistoryPrefix} and RowKey lt {"history}"}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {LifecyclePartition} and RowKey ge {HistoryPrefix} and RowKey lt {"history}"} and Name eq {name}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Clamp(max, 1, 1000), select: ["Json"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is { } json)
            {
                events.Add(JsonSerializer.Deserialize<AgentEvent>(json, AgenticJson.Options)!);
            }
            if (events.Count >= max)
            {
                break;
            }
        }
        return events;
    }

    /// <summary>
    /// Reads the active row, applies <paramref name="change"/> and writes the new set with its history row in one
    /// transaction, If-Match the ETag read; another writer in between means read again and retry.
    /// </summary>
    private async Task<ActiveAgentSet> ChangeAsync(Func<ActiveAgentSet, (ActiveAgentSet Set, AgentEvent Event)?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var row = await ReadAsync(LifecyclePartition, ActiveRow, cancellationToken);
            var current = Active(row);
            if (change(current) is not { } next)
            {
                return current;
            }
            var active = new TableEntity(LifecyclePartition, ActiveRow) { ["Sequence"] = next.Set.Sequence };
            PutChunks(active, "Json", JsonSerializer.Serialize(next.Set, AgenticJson.Options));
            TableTransactionAction[] actions =
            [
                row is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, active)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, active, row.ETag),
                new TableTransactionAction(TableTransactionActionType.Add, History(next.Event)),
            ];
            try
            {
                await _table.SubmitTransactionAsync(actions, cancellationToken);
                return next.Set;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another change landed between the read and the write: apply this one to what is there now.
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
            {
                throw new AgentConflictException($"The active agents changed {MaxAttempts} times while this change was being made; try again.", ex);
            }
        }
    }

    private async Task<AgentVersionInfo?> GetInfoAsync(string name, string version, CancellationToken cancellationToken)
    {
        var row = await ReadAsync(VersionsPartition, VersionRow(name, version), cancellationToken, InfoColumns);
        return row is null ? null : Info(row);
    }

    private async Task<TableEntity?> ReadAsync(string partition, string rowKey, CancellationToken cancellationToken, IEnumerable<string>? select = null)
    {
        try
        {
            return (await _table.GetEntityAsync<TableEntity>(partition, rowKey, select, cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "ResourceNotFound")
        {
            // No such row. A missing table (TableNotFound) is not this case, and throws.
            return null;
        }
    }

    private static ActiveAgentSet Active(TableEntity? row) =>
        row is not null && Chunks(row, "Json") is { Length: > 0 } json
            ? JsonSerializer.Deserialize<ActiveAgentSet>(json, AgenticJson.Options) ?? ActiveAgentSet.Empty
            : ActiveAgentSet.Empty;

    private static AgentVersionInfo Info(TableEntity row) => new(
        row.GetString("Name") ?? "", row.GetString("Version") ?? "", row.GetString("ContentHash") ?? "",
        row.GetString("SavedBy") ?? "", row.GetDateTimeOffset("SavedAt") ?? DateTimeOffset.MinValue);

    private static TableEntity History(AgentEvent entry)
    {
        // Inverted ticks sort the newest first; the suffix keeps two entries of the same tick apart.
        var rowKey = HistoryPrefix + (DateTimeOffset.MaxValue.UtcTicks - entry.At.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        return new TableEntity(LifecyclePartition, rowKey)
        {
            ["Action"] = entry.Action,
            ["Name"] = entry.Name,
            ["Version"] = entry.Version,
            ["By"] = entry.By,
            ["Reason"] = entry.Reason,
            ["At"] = entry.At,
            ["Replaced"] = entry.Replaced,
            ["Json"] = JsonSerializer.Serialize(entry, AgenticJson.Options),
        };
    }

    // A text longer than a table property holds, over numbered properties and their count.
    private static void PutChunks(TableEntity row, string prefix, string text)
    {
        row[prefix + "Chunks"] = (text.Length + ChunkChars - 1) / ChunkChars;
        for (var i = 0; i * ChunkChars < text.Length; i++)
        {
            row[prefix + i.ToString(CultureInfo.InvariantCulture)] = text.Substring(i * ChunkChars, Math.Min(ChunkChars, text.Length - (i * ChunkChars)));
        }
    }

    private static string Chunks(TableEntity row, string prefix) =>
        string.Concat(Enumerable.Range(0, row.GetInt32(prefix + "Chunks") ?? 0).Select(i => row.GetString(prefix + i.ToString(CultureInfo.InvariantCulture)) ?? ""));

    private static string VersionRow(string name, string version) => name + "|" + version;
}
