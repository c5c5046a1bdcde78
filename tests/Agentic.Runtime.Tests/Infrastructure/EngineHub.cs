using System.Globalization;
using Agentic.Testing;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// The engine's own storage on a test's hub, read and written the way an operator (or a fault) would, around the
/// engine: DurableTask.AzureStorage's task hub layout (<c>{hub}History</c>, <c>{hub}Instances</c>,
/// <c>{hub}Partitions</c>, <c>{hub}-control-NN</c>, <c>{hub}-workitems</c>).
/// </summary>
internal sealed class EngineHub(Azurite azurite, string hub, int partitions = 2)
{
    /// <summary>One row per history event of every instance (partition key: the instance id).</summary>
    public TableClient History { get; } = new(azurite.ConnectionString, hub + "History");

    /// <summary>One row per instance: status, input, output, custom status.</summary>
    public TableClient Instances { get; } = new(azurite.ConnectionString, hub + "Instances");

    /// <summary>One row per control queue: which worker owns it (the table partition manager).</summary>
    public TableClient Partitions { get; } = new(azurite.ConnectionString, hub + "Partitions");

    /// <summary>The queue of activity work items.</summary>
    public QueueClient WorkItems { get; } = new(azurite.ConnectionString, hub + "-workitems");

    /// <summary>Every control queue (one per partition): orchestration messages, events, timers.</summary>
    public IReadOnlyList<QueueClient> ControlQueues { get; } =
        [.. Enumerable.Range(0, partitions).Select(p => new QueueClient(azurite.ConnectionString, $"{hub}-control-{p.ToString("00", CultureInfo.InvariantCulture)}"))];

    /// <summary>The history rows of <paramref name="runId"/>, in order.</summary>
    public async Task<List<TableEntity>> HistoryAsync(string runId, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in History.QueryAsync<TableEntity>(e => e.PartitionKey == runId, cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>The history rows of <paramref name="runId"/> of one event type (<c>TimerCreated</c>, <c>EventRaised</c>, ...).</summary>
    public async Task<List<TableEntity>> HistoryAsync(string runId, string eventType, CancellationToken cancellationToken) =>
        [.. (await HistoryAsync(runId, cancellationToken)).Where(r => r.GetString("EventType") == eventType)];

    /// <summary>Messages on all control queues, visible or not (a pending durable timer is a hidden one).</summary>
    public async Task<int> ControlMessageCountAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var queue in ControlQueues)
        {
            count += (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
        }
        return count;
    }

    /// <summary>The partition leases: control queue name to its current owner (a worker id), or null when unowned.</summary>
    public async Task<Dictionary<string, string?>> OwnersAsync(CancellationToken cancellationToken)
    {
        var owners = new Dictionary<string, string?>(StringComparer.Ordinal);
        await foreach (var row in Partitions.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            owners[row.RowKey] = row.GetString("CurrentOwner") is { Length: > 0 } owner ? owner : null;
        }
        return owners;
    }
}
