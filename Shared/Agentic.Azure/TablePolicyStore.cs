using System.Globalization;
using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Policy versions and the active set in the table <c>{hub}policies</c>:
/// <list type="bullet">
/// <item>partition <c>versions</c>, row <c>{id}|{version}</c>: one immutable row per version, its YAML text split over
/// <c>Yaml0</c>, <c>Yaml1</c>, ... (a table property holds 32K characters), with its hash and who saved it when;</item>
/// <item>partition <c>lifecycle</c>, row <c>active</c>: the active set as JSON, changed only with its ETag (If-Match);</item>
/// <item>partition <c>lifecycle</c>, rows <c>history|{inverted ticks}-{suffix}</c>: the history, newest first.</item>
/// </list>
/// A change of the active set and its history row are written in one entity-group transaction, so every change is in
/// the history and the history holds no change that did not happen.
/// </summary>
public sealed class TablePolicyStore(StorageClients clients, TimeProvider clock) : IPolicyStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "policies";

    private const string VersionsPartition = "versions";
    private const string LifecyclePartition = "lifecycle";
    private const string ActiveRow = "active";
    private const string HistoryPrefix = "history|";
    private const int ChunkChars = 30_000;
    private const int MaxAttempts = 10;

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateSave(id, version, yaml, savedBy);
        var info = new PolicyVersionInfo(id, version, PolicyLifecycle.Hash(yaml), savedBy, clock.GetUtcNow());
        var row = new TableEntity(VersionsPartition, VersionRow(id, version))
        {
            ["Id"] = id,
            ["Version"] = version,
            ["ContentHash"] = info.ContentHash,
            ["SavedBy"] = savedBy,
            ["SavedAt"] = info.SavedAt,
            ["YamlChunks"] = (yaml.Length + ChunkChars - 1) / ChunkChars,
        };
        for (var i = 0; i * ChunkChars < yaml.Length; i++)
        {
            row["Yaml" + i.ToString(CultureInfo.InvariantCulture)] = yaml.Substring(i * ChunkChars, Math.Min(ChunkChars, yaml.Length - (i * ChunkChars)));
        }
        try
        {
            // Add, never upsert: a stored version is immutable.
            await _table.AddEntityAsync(row, cancellationToken);
            return new PolicySaveResult(info, Created: true);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
        }
        var existing = await GetInfoAsync(id, version, cancellationToken)
            ?? throw new PolicyConflictException($"Policy {PolicyLifecycle.Name(id, version)} is being stored by someone else; try again.");
        return string.Equals(existing.ContentHash, info.ContentHash, StringComparison.Ordinal)
            ? new PolicySaveResult(existing, Created: false)
            : throw new PolicyConflictException($"Policy {existing} is already stored with other text ({existing.ContentHash}, saved by {existing.SavedBy}); this text is {info.ContentHash}. A version never changes: give the policy a new version.");
    }

    /// <inheritdoc />
    public async Task<StoredPolicy?> GetAsync(string id, string version, CancellationToken cancellationToken)
    {
        if (PolicyLifecycle.NameProblem(id, "id") is not null || PolicyLifecycle.NameProblem(version, "version") is not null)
        {
            return null;
        }
        var row = await ReadAsync(VersionsPartition, VersionRow(id, version), cancellationToken);
        if (row is null)
        {
            return null;
        }
        var chunks = row.GetInt32("YamlChunks") ?? 0;
        var yaml = string.Concat(Enumerable.Range(0, chunks).Select(i => row.GetString("Yaml" + i.ToString(CultureInfo.InvariantCulture)) ?? ""));
        return new StoredPolicy(Info(row), yaml);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken)
    {
        var filter = id is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition}")
            // '}' follows '|', so the range holds exactly the rows of this id.
            : TableClient.CreateQueryFilter($"PartitionKey eq {VersionsPartition} and RowKey ge {id + "|"} and RowKey lt {id + "}"}");
        var versions = new List<PolicyVersionInfo>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, select: ["Id", "Version", "ContentHash", "SavedBy", "SavedAt"], cancellationToken: cancellationToken))
        {
            versions.Add(Info(row));
        }
        return [.. versions.OrderBy(v => v.Id, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];
    }

    /// <inheritdoc />
    public async Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken) =>
        Active(await ReadAsync(LifecyclePartition, ActiveRow, cancellationToken));

    /// <inheritdoc />
    public async Task<ActivePolicySet> ActivateAsync(string id, string version, PolicyMode mode, string by, string reason, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateChange(by, reason);
        var info = (PolicyLifecycle.NameProblem(id, "id") is null && PolicyLifecycle.NameProblem(version, "version") is null ? await GetInfoAsync(id, version, cancellationToken) : null)
            ?? throw new PolicyNotFoundException($"Policy {PolicyLifecycle.Name(id, version)} is not stored.");
        return await ChangeAsync(current => PolicyLifecycle.Activate(current, info, mode, by, reason, clock.GetUtcNow()), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ActivePolicySet?> ClearShadowAsync(string by, string reason, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateChange(by, reason);
        var cleared = false;
        var set = await ChangeAsync(current =>
        {
            var change = PolicyLifecycle.ClearShadow(current, by, reason, clock.GetUtcNow());
            cleared = change is not null;
            return change;
        }, cancellationToken);
        return cleared ? set : null;
    }

    /// <inheritdoc />
    public async Task<ActivePolicySet> RollbackAsync(string by, string reason, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateChange(by, reason);
        return await ChangeAsync(current => PolicyLifecycle.Rollback(current, by, reason, clock.GetUtcNow()), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken)
    {
        var events = new List<PolicyEvent>();
        if (max <= 0)
        {
            return events;
        }
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {LifecyclePartition} and RowKey ge {HistoryPrefix} and RowKey lt {"history}"}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Clamp(max, 1, 1000), select: ["Json"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is { } json)
            {
                events.Add(JsonSerializer.Deserialize<PolicyEvent>(json, AgenticJson.Options)!);
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
    private async Task<ActivePolicySet> ChangeAsync(Func<ActivePolicySet, (ActivePolicySet Set, PolicyEvent Event)?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var row = await ReadAsync(LifecyclePartition, ActiveRow, cancellationToken);
            var current = Active(row);
            if (change(current) is not { } next)
            {
                return current;
            }
            var active = new TableEntity(LifecyclePartition, ActiveRow)
            {
                ["Json"] = JsonSerializer.Serialize(next.Set, AgenticJson.Options),
                ["Sequence"] = next.Set.Sequence,
                ["Enforced"] = next.Set.Enforced?.ToString(),
                ["Shadow"] = next.Set.Shadow?.ToString() ?? "",
            };
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
                throw new PolicyConflictException($"The active policies changed {MaxAttempts} times while this change was being made; try again.", ex);
            }
        }
    }

    private async Task<PolicyVersionInfo?> GetInfoAsync(string id, string version, CancellationToken cancellationToken)
    {
        var row = await ReadAsync(VersionsPartition, VersionRow(id, version), cancellationToken, ["Id", "Version", "ContentHash", "SavedBy", "SavedAt"]);
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
            // No such row. A missing table (TableNotFound) is not this case, and throws: the gate fails closed.
            return null;
        }
    }

    private static ActivePolicySet Active(TableEntity? row) =>
        row?.GetString("Json") is { Length: > 0 } json
            ? JsonSerializer.Deserialize<ActivePolicySet>(json, AgenticJson.Options) ?? ActivePolicySet.Empty
            : ActivePolicySet.Empty;

    private static PolicyVersionInfo Info(TableEntity row) => new(
        row.GetString("Id") ?? "", row.GetString("Version") ?? "", row.GetString("ContentHash") ?? "",
        row.GetString("SavedBy") ?? "", row.GetDateTimeOffset("SavedAt") ?? DateTimeOffset.MinValue);

    private static TableEntity History(PolicyEvent entry)
    {
        // Inverted ticks sort the newest first; the suffix keeps two entries of the same tick apart.
        var rowKey = HistoryPrefix + (DateTimeOffset.MaxValue.UtcTicks - entry.At.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        return new TableEntity(LifecyclePartition, rowKey)
        {
            ["Action"] = entry.Action,
            ["Id"] = entry.Id,
            ["Version"] = entry.Version,
            ["Mode"] = entry.Mode == PolicyMode.Shadow ? "shadow" : "enforce",
            ["By"] = entry.By,
            ["Reason"] = entry.Reason,
            ["At"] = entry.At,
            ["Replaced"] = entry.Replaced,
            ["Json"] = JsonSerializer.Serialize(entry, AgenticJson.Options),
        };
    }

    private static string VersionRow(string id, string version) => id + "|" + version;
}
