using System.Text.RegularExpressions;

namespace Agentic.Core.Agents;

/// <summary>
/// Reads the <c>queue-depth</c> and <c>table-count</c> signals from the deployment's own storage account, and no other:
/// it takes names, never accounts or addresses. The storage layer implements it over the host's storage clients.
/// </summary>
public interface IStorageSignals
{
    /// <summary>The approximate number of messages in <paramref name="queue"/>.</summary>
    /// <exception cref="Activities.NonRetryableException">The queue does not exist.</exception>
    Task<long> QueueDepthAsync(string queue, CancellationToken cancellationToken);

    /// <summary>The number of rows of <paramref name="table"/> matching <paramref name="filter"/> (every row when null), counted up to <paramref name="max"/>.</summary>
    /// <exception cref="Activities.NonRetryableException">The table does not exist, or the service refused the filter.</exception>
    Task<long> CountRowsAsync(string table, string? filter, int max, CancellationToken cancellationToken);
}

/// <summary>Azure Storage's naming rules for the queues and tables a signal may read, checked when an agent loads.</summary>
public static partial class StorageNames
{
    /// <summary>A queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.</summary>
    public static bool IsQueueName(string name) => name.Length is >= 3 and <= 63 && QueueName().IsMatch(name) && !name.Contains("--", StringComparison.Ordinal);

    /// <summary>A table name: 3 to 63 letters and digits, starting with a letter, and not the reserved <c>tables</c>.</summary>
    public static bool IsTableName(string name) => TableName().IsMatch(name) && !string.Equals(name, "tables", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex QueueName();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$")]
    private static partial Regex TableName();
}
