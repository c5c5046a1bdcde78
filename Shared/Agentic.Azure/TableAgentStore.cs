using System.Text.Json;
using Agentic.Core.Agents.Lifecycle;
using Agentic.Core.Json;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Agent versions and the active set in the table <c>{hub}agents</c>, laid out as the policy store's
/// (<see cref="LifecycleTable"/>): the active set as JSON split over <c>Json0</c>, <c>Json1</c>, ... with its sequence in
/// a column of its own, and the history rows with the agent's name in a column, for the per-agent history.
/// </summary>
public sealed class TableAgentStore(StorageClients clients, TimeProvider clock) : IAgentStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "agents";

    private static readonly string[] InfoColumns = ["Name", "Version", "ContentHash", "SavedBy", "SavedAt"];

    private readonly LifecycleTable _table = new(clients.Table(TableSuffix));

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table.Table;

    /// <inheritdoc />
    public async Task<AgentSaveResult> SaveAsync(string name, string version, string yaml, string savedBy, CancellationToken cancellationToken)
    {
        AgentLifecycle.ValidateSave(name, version, yaml, savedBy);
        var info = new AgentVersionInfo(name, version, AgentLifecycle.Hash(yaml), savedBy, clock.GetUtcNow());
        var row = LifecycleTable.VersionEntity(name, version, yaml);
        row["Name"] = name;
        row["Version"] = version;
        row["ContentHash"] = info.ContentHash;
        row["SavedBy"] = savedBy;
        row["SavedAt"] = info.SavedAt;
        if (await _table.TryAddVersionAsync(row, cancellationToken))
        {
            return new AgentSaveResult(info, Created: true);
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
        var row = await _table.ReadVersionAsync(name, version, cancellationToken);
        return row is null ? null : new StoredAgent(Info(row), LifecycleTable.Yaml(row));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentVersionInfo>> ListAsync(string? name, CancellationToken cancellationToken) =>
        [.. (await _table.ListVersionsAsync(name, InfoColumns, cancellationToken)).Select(Info).OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.SavedAt)];

    /// <inheritdoc />
    public async Task<ActiveAgentSet> GetActiveAsync(CancellationToken cancellationToken) =>
        Active(await _table.ReadActiveAsync(cancellationToken));

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
    public async Task<IReadOnlyList<AgentEvent>> HistoryAsync(string? name, int max, CancellationToken cancellationToken) =>
        await _table.HistoryAsync<AgentEvent>(name, max, cancellationToken);

    private Task<ActiveAgentSet> ChangeAsync(Func<ActiveAgentSet, (ActiveAgentSet Set, AgentEvent Event)?> change, CancellationToken cancellationToken) =>
        _table.ChangeAsync(
            Active,
            change,
            (row, set) =>
            {
                row["Sequence"] = set.Sequence;
                LifecycleTable.PutChunks(row, "Json", JsonSerializer.Serialize(set, AgenticJson.Options));
            },
            (row, entry) =>
            {
                row["Action"] = entry.Action;
                row["Name"] = entry.Name;
                row["Version"] = entry.Version;
                row["By"] = entry.By;
                row["Reason"] = entry.Reason;
                row["At"] = entry.At;
                row["Replaced"] = entry.Replaced;
                row["Json"] = JsonSerializer.Serialize(entry, AgenticJson.Options);
            },
            entry => entry.At,
            (attempts, ex) => new AgentConflictException($"The active agents changed {attempts} times while this change was being made; try again.", ex),
            cancellationToken);

    private async Task<AgentVersionInfo?> GetInfoAsync(string name, string version, CancellationToken cancellationToken)
    {
        var row = await _table.ReadVersionAsync(name, version, cancellationToken, InfoColumns);
        return row is null ? null : Info(row);
    }

    private static ActiveAgentSet Active(TableEntity? row) =>
        row is not null && LifecycleTable.Chunks(row, "Json") is { Length: > 0 } json
            ? JsonSerializer.Deserialize<ActiveAgentSet>(json, AgenticJson.Options) ?? ActiveAgentSet.Empty
            : ActiveAgentSet.Empty;

    private static AgentVersionInfo Info(TableEntity row) => new(
        row.GetString("Name") ?? "", row.GetString("Version") ?? "", row.GetString("ContentHash") ?? "",
        row.GetString("SavedBy") ?? "", row.GetDateTimeOffset("SavedAt") ?? DateTimeOffset.MinValue);
}
