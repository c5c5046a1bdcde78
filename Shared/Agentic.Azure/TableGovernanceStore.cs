using System.Text.Json;
using Agentic.Core;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Tools;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// Decisions, approvals and the idempotency ledger in one table, one partition per run:
/// row keys <c>decision|{step}</c>, <c>approval|{step}|{approver digest}</c> and <c>action|{step}</c>.
/// Decision and approval rows are inserted, never replaced (see <see cref="IDecisionStore"/>), so the decisions this
/// process stored or read in the last ten minutes are answered from memory (the act activity reads the decision its gate
/// just stored); a run's rows are deleted only by retention, days after the run ended.
/// </summary>
public sealed class TableGovernanceStore(StorageClients clients, TimeProvider clock) : IDecisionStore, IActionLedger, IRunStateStore
{
    /// <summary>How many decisions are kept in memory after they were stored or read.</summary>
    public const int MaxRecentDecisions = 4096;

    private readonly TableClient _table = clients.Table("ledger");
    private readonly RecentlyStored<(string RunId, string StepId), GateDecision> _decisions = new(MaxRecentDecisions, clock: clock);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<GateDecision> RecordDecisionAsync(GateDecision decision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        // The stored decision: this one, or the one another attempt stored first.
        var stored = await InsertOnceAsync(decision.RunId, DecisionRow(decision.StepId), decision, cancellationToken);
        _decisions.Remember((decision.RunId, decision.StepId), stored);
        return stored;
    }

    /// <inheritdoc />
    public async Task<GateDecision?> GetDecisionAsync(string runId, string stepId, CancellationToken cancellationToken)
    {
        if (_decisions.TryGet((runId, stepId), out var kept))
        {
            return kept;
        }
        var stored = await ReadAsync<GateDecision>(runId, DecisionRow(stepId), cancellationToken);
        if (stored is not null)
        {
            _decisions.Remember((runId, stepId), stored);
        }
        return stored;
    }

    /// <inheritdoc />
    public async Task<ApprovalDecision> RecordApprovalAsync(string runId, string stepId, ApprovalDecision approval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(approval);
        // Identities may hold characters row keys refuse: key each approver's record by a digest of the identity.
        var who = AgenticJson.Digest(approval.Approver.ToUpperInvariant())["sha256:".Length..][..16];
        return await InsertOnceAsync(runId, $"approval|{stepId}|{who}", approval, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApprovalDecision>> GetApprovalsAsync(string runId, string stepId, CancellationToken cancellationToken)
    {
        var from = $"approval|{stepId}|";
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey ge {from} and RowKey lt {from + "~"}");
        var approvals = new List<ApprovalDecision>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (entity.GetString("Json") is { } json && JsonSerializer.Deserialize<ApprovalDecision>(json, AgenticJson.Options) is { } approval)
            {
                approvals.Add(approval);
            }
        }
        return approvals;
    }

    /// <inheritdoc />
    public async Task<bool> RecordSubmissionAsync(string runId, string principal, DateTimeOffset at, CancellationToken cancellationToken)
    {
        try
        {
            await _table.AddEntityAsync(new TableEntity(runId, "submitted") { ["Principal"] = principal, ["At"] = at }, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<int> DeleteRunAsync(string runId, CancellationToken cancellationToken)
    {
        var rows = new List<string>();
        await foreach (var row in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {runId}"), select: ["RowKey"], cancellationToken: cancellationToken))
        {
            rows.Add(row.RowKey);
        }
        // The submission row goes last: until it is gone, a repeated submission of the run's key still finds the run.
        rows.Sort((a, b) => (a == "submitted").CompareTo(b == "submitted"));
        foreach (var batch in rows.Chunk(100))
        {
            await _table.SubmitTransactionAsync(batch.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(runId, r), ETag.All)), cancellationToken);
        }
        _decisions.Forget(k => k.RunId == runId);
        return rows.Count;
    }

    /// <inheritdoc />
    public async Task<LedgerEntry> BeginAsync(string runId, string stepId, string argsDigest, TimeSpan lease, CancellationToken cancellationToken)
    {
        var rowKey = "action|" + stepId;
        var now = clock.GetUtcNow();
        var intent = new TableEntity(runId, rowKey)
        {
            ["ArgsDigest"] = argsDigest,
            ["LeaseUntil"] = now + lease,
            ["Attempts"] = 1,
            ["IntentAt"] = now,
        };
        try
        {
            await _table.AddEntityAsync(intent, cancellationToken);
            return new LedgerEntry(LedgerBegin.Started, null, 1);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // An earlier attempt got here first; see what it left.
        }
        var existing = (await _table.GetEntityAsync<TableEntity>(runId, rowKey, cancellationToken: cancellationToken)).Value;
        var attempts = existing.GetInt32("Attempts") ?? 1;
        if (existing.GetString("Outcome") is { } outcome)
        {
            return new LedgerEntry(LedgerBegin.Recorded, AgenticJson.FromElement<ToolOutcome>(JsonDocument.Parse(outcome).RootElement), attempts);
        }
        if (existing.GetDateTimeOffset("LeaseUntil") is { } until && until > now)
        {
            return new LedgerEntry(LedgerBegin.Busy, null, attempts, until);
        }
        existing["LeaseUntil"] = now + lease;
        existing["Attempts"] = attempts + 1;
        try
        {
            // The ETag makes taking over an expired lease exclusive between workers.
            await _table.UpdateEntityAsync(existing, existing.ETag, TableUpdateMode.Replace, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // Another worker took the expired lease this instant.
            return new LedgerEntry(LedgerBegin.Busy, null, attempts, now + lease);
        }
        return new LedgerEntry(LedgerBegin.Resumed, null, attempts + 1);
    }

    /// <inheritdoc />
    public Task CompleteAsync(string runId, string stepId, ToolOutcome outcome, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(runId, "action|" + stepId)
        {
            ["Outcome"] = JsonSerializer.Serialize(outcome, AgenticJson.Options),
            ["OutcomeAt"] = clock.GetUtcNow(),
        };
        return _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <inheritdoc />
    public Task ReleaseAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        _table.UpdateEntityAsync(new TableEntity(runId, "action|" + stepId) { ["LeaseUntil"] = clock.GetUtcNow() }, ETag.All, TableUpdateMode.Merge, cancellationToken);

    private static string DecisionRow(string stepId) => "decision|" + stepId;

    // Insert, never upsert: a record that exists is the record. A 409 means another attempt stored first; its record
    // is read back and returned, so every caller goes on with the same one.
    private async Task<T> InsertOnceAsync<T>(string partition, string row, T value, CancellationToken cancellationToken) where T : class
    {
        try
        {
            await _table.AddEntityAsync(new TableEntity(partition, row) { ["Json"] = JsonSerializer.Serialize(value, AgenticJson.Options) }, cancellationToken);
            return value;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return await ReadAsync<T>(partition, row, cancellationToken)
                ?? throw new InvalidDataException($"The ledger row {partition}/{row} exists but holds no record.");
        }
    }

    private async Task<T?> ReadAsync<T>(string partition, string row, CancellationToken cancellationToken) where T : class
    {
        var response = await _table.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken);
        return response.HasValue && response.Value!.GetString("Json") is { } json
            ? JsonSerializer.Deserialize<T>(json, AgenticJson.Options)
            : null;
    }
}
