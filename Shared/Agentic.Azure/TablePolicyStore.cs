using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Policy.Lifecycle;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Policy versions and the active set in the table <c>{hub}policies</c> (<see cref="LifecycleTable"/>): the active set as
/// JSON in one column, with its sequence and the enforced and shadow policies in columns of their own.
/// </summary>
public sealed class TablePolicyStore(StorageClients clients, TimeProvider clock) : IPolicyStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "policies";

    private static readonly string[] InfoColumns = ["Id", "Version", "ContentHash", "SavedBy", "SavedAt"];

    private readonly LifecycleTable _table = new(clients.Table(TableSuffix));

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table.Table;

    /// <inheritdoc />
    public async Task<PolicySaveResult> SaveAsync(string id, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        PolicyLifecycle.ValidateSave(id, version, yaml, savedBy);
        var info = new PolicyVersionInfo(id, version, PolicyLifecycle.Hash(yaml), savedBy, clock.GetUtcNow());
        var row = LifecycleTable.VersionEntity(id, version, yaml);
        row["Id"] = id;
        row["Version"] = version;
        row["ContentHash"] = info.ContentHash;
        row["SavedBy"] = savedBy;
        row["SavedAt"] = info.SavedAt;
        if (await _table.TryAddVersionAsync(row, cancellationToken))
        {
            return new PolicySaveResult(info, Created: true);
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
        var row = await _table.ReadVersionAsync(id, version, cancellationToken);
        return row is null ? null : new StoredPolicy(Info(row), LifecycleTable.Yaml(row));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PolicyVersionInfo>> ListAsync(string? id, CancellationToken cancellationToken) =>
        [.. (await _table.ListVersionsAsync(id, InfoColumns, cancellationToken)).Select(Info).OrderBy(v => v.Id, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];

    /// <inheritdoc />
    public async Task<ActivePolicySet> GetActiveAsync(CancellationToken cancellationToken) =>
        Active(await _table.ReadActiveAsync(cancellationToken));

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
    public async Task<IReadOnlyList<PolicyEvent>> HistoryAsync(int max, CancellationToken cancellationToken) =>
        await _table.HistoryAsync<PolicyEvent>(name: null, max, cancellationToken);

    private Task<ActivePolicySet> ChangeAsync(Func<ActivePolicySet, (ActivePolicySet Set, PolicyEvent Event)?> change, CancellationToken cancellationToken) =>
        _table.ChangeAsync(
            Active,
            change,
            (row, set) =>
            {
                row["Json"] = JsonSerializer.Serialize(set, AgenticJson.Options);
                row["Sequence"] = set.Sequence;
                row["Enforced"] = set.Enforced?.ToString();
                row["Shadow"] = set.Shadow?.ToString() ?? "";
            },
            (row, entry) =>
            {
                row["Action"] = entry.Action;
                row["Id"] = entry.Id;
                row["Version"] = entry.Version;
                row["Mode"] = entry.Mode == PolicyMode.Shadow ? "shadow" : "enforce";
                row["By"] = entry.By;
                row["Reason"] = entry.Reason;
                row["At"] = entry.At;
                row["Replaced"] = entry.Replaced;
                row["Json"] = JsonSerializer.Serialize(entry, AgenticJson.Options);
            },
            entry => entry.At,
            (attempts, ex) => new PolicyConflictException($"The active policies changed {attempts} times while this change was being made; try again.", ex),
            cancellationToken);

    private async Task<PolicyVersionInfo?> GetInfoAsync(string id, string version, CancellationToken cancellationToken)
    {
        var row = await _table.ReadVersionAsync(id, version, cancellationToken, InfoColumns);
        return row is null ? null : Info(row);
    }

    private static ActivePolicySet Active(TableEntity? row) =>
        row?.GetString("Json") is { Length: > 0 } json
            ? JsonSerializer.Deserialize<ActivePolicySet>(json, AgenticJson.Options) ?? ActivePolicySet.Empty
            : ActivePolicySet.Empty;

    private static PolicyVersionInfo Info(TableEntity row) => new(
        row.GetString("Id") ?? "", row.GetString("Version") ?? "", row.GetString("ContentHash") ?? "",
        row.GetString("SavedBy") ?? "", row.GetDateTimeOffset("SavedAt") ?? DateTimeOffset.MinValue);
}
