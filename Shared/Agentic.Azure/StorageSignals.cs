using Agentic.Core.Activities;
using Agentic.Core.Agents;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// The <c>queue-depth</c> and <c>table-count</c> signals over the host's own storage clients: a name reaches a queue or a
/// table of the deployment's account and nothing else, with the host's identity (managed identity in Azure).
/// </summary>
/// <param name="clients">The host's storage clients.</param>
public sealed class StorageSignals(StorageClients clients) : IStorageSignals
{
    // A page of a count asks for keys only: the rows' contents never leave the service.
    private static readonly string[] KeysOnly = ["PartitionKey"];

    /// <inheritdoc />
    public async Task<long> QueueDepthAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await clients.Queues.GetQueueClient(queue).GetPropertiesAsync(cancellationToken);
            return properties.Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new NonRetryableException($"The queue '{queue}' does not exist in the deployment's storage account.");
        }
    }

    /// <inheritdoc />
    public async Task<long> CountRowsAsync(string table, string? filter, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var count = 0L;
        try
        {
            var pages = clients.Tables.GetTableClient(table)
                .QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: KeysOnly, cancellationToken: cancellationToken)
                .AsPages();
            await foreach (var page in pages)
            {
                count += page.Values.Count;
                if (count >= max)
                {
                    return max;
                }
            }
            return count;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new NonRetryableException($"The table '{table}' does not exist in the deployment's storage account.");
        }
        catch (RequestFailedException ex) when (ex.Status == 400)
        {
            throw new NonRetryableException($"The table service refused the filter of table '{table}' ({ex.ErrorCode ?? "400"}).");
        }
    }
}
