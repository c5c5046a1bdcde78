using System.Text.Json;
using Agentic.Core.Json;
using Agentic.Core.Tools.Mcp;
using Azure;
using Azure.Data.Tables;

namespace Agentic.Azure;

/// <summary>
/// MCP tool pins in the table <c>{hub}mcppins</c>: partition <c>pin</c>, row key the tool's name (<c>mcp.{server}.{tool}</c>),
/// the pin as JSON. Pinning again replaces the row; who pinned what, when and why is kept in the audit's control chain.
/// </summary>
public sealed class TableMcpPinStore(StorageClients clients) : IMcpPinStore
{
    /// <summary>The table name's suffix after the hub.</summary>
    public const string TableSuffix = "mcppins";

    private const string Partition = "pin";

    private readonly TableClient _table = clients.Table(TableSuffix);

    /// <summary>The table, for start-up provisioning.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<McpPin?> GetAsync(string tool, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        try
        {
            var row = (await _table.GetEntityAsync<TableEntity>(Partition, tool, cancellationToken: cancellationToken)).Value;
            return Read(row);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "ResourceNotFound")
        {
            // No pin. A missing table (TableNotFound) is not this case, and throws: the gate fails closed.
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<McpPin>> ListAsync(CancellationToken cancellationToken)
    {
        var pins = new List<McpPin>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (Read(row) is { } pin)
            {
                pins.Add(pin);
            }
        }
        return pins;
    }

    /// <inheritdoc />
    public async Task<McpPin?> PinAsync(McpPin pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var earlier = await GetAsync(pin.Tool, cancellationToken);
        await _table.UpsertEntityAsync(new TableEntity(Partition, pin.Tool)
        {
            ["Hash"] = pin.Hash,
            ["PinnedBy"] = pin.PinnedBy,
            ["PinnedAt"] = pin.PinnedAt,
            ["Json"] = JsonSerializer.Serialize(pin, AgenticJson.Options),
        }, TableUpdateMode.Replace, cancellationToken);
        return earlier;
    }

    private static McpPin? Read(TableEntity row) =>
        row.GetString("Json") is { Length: > 0 } json ? JsonSerializer.Deserialize<McpPin>(json, AgenticJson.Options) : null;
}
