using System.Runtime.CompilerServices;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Lifecycle;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// The gate decisions <see cref="TableGovernanceStore"/> recorded, read across runs (for <c>agentic policy simulate</c>):
/// one query over the ledger table for the row keys <c>decision|{step}</c> of every partition.
/// </summary>
public sealed class TableDecisionLog(TableGovernanceStore governance) : IDecisionLog
{
    // TableGovernanceStore's decision rows; '}' follows '|', so the range holds exactly them.
    private const string DecisionPrefix = "decision|";
    private const string DecisionEnd = "decision}";

    // The row's Timestamp is the server's clock and DecidedAt the host's: widen the server-side filter by this much
    // and filter exactly on DecidedAt here, so clock skew loses no decision.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <inheritdoc />
    public async IAsyncEnumerable<GateDecision> ReadDecisionsAsync(DateTimeOffset? since, int max, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (max <= 0)
        {
            yield break;
        }
        var filter = since is { } from
            ? TableClient.CreateQueryFilter($"RowKey ge {DecisionPrefix} and RowKey lt {DecisionEnd} and Timestamp ge {from - ClockSkew}")
            : TableClient.CreateQueryFilter($"RowKey ge {DecisionPrefix} and RowKey lt {DecisionEnd}");
        var count = 0;
        await foreach (var row in governance.Table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Clamp(max, 1, 1000), select: ["Json"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Json") is not { } json || JsonSerializer.Deserialize<GateDecision>(json, AgenticJson.Options) is not { } decision)
            {
                continue;
            }
            if (since is { } after && decision.DecidedAt < after)
            {
                continue;
            }
            yield return decision;
            if (++count >= max)
            {
                yield break;
            }
        }
    }
}
