using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agentic.Core.Audit;
using Agentic.Core.Json;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// A tool as an MCP server announced it: its name, description and input schema. <see cref="Hash"/> covers exactly
/// these (RFC 8785 canonical JSON), so a server that changes what it tells a model about a tool, or what the tool accepts,
/// announces another hash.
/// </summary>
public sealed record McpAnnouncement
{
    /// <summary>An announcement of <paramref name="tool"/> by <paramref name="server"/>.</summary>
    public McpAnnouncement(string server, string tool, string? description, JsonElement inputSchema)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(tool);
        Server = server;
        Tool = tool;
        Description = description;
        InputSchema = Encoding.UTF8.GetString(Jcs.Canonicalize(inputSchema));
        var announced = new JsonObject { ["name"] = tool, ["description"] = description, ["inputSchema"] = JsonNode.Parse(InputSchema) };
        Hash = AgenticJson.Digest(Jcs.Canonicalize(JsonSerializer.SerializeToElement(announced)));
    }

    /// <summary>The configured server's name.</summary>
    public string Server { get; }

    /// <summary>The tool's name as the server announced it.</summary>
    public string Tool { get; }

    /// <summary>The registry name, <c>mcp.{server}.{tool}</c>.</summary>
    public string Name => McpNames.ToolName(Server, Tool);

    /// <summary>The description as announced (what a model would read).</summary>
    public string? Description { get; }

    /// <summary>The input schema as announced, in canonical JSON.</summary>
    public string InputSchema { get; }

    /// <summary>SHA-256 of the canonical JSON of <c>{name, description, inputSchema}</c>.</summary>
    public string Hash { get; }

    /// <summary>SHA-256 of the description's UTF-8 text (of the empty text when there is none).</summary>
    public string DescriptionDigest => AgenticJson.Digest(Description ?? "");

    /// <summary>SHA-256 of the canonical input schema.</summary>
    public string SchemaDigest => AgenticJson.Digest(InputSchema);
}

/// <summary>An admin's pin of a tool's announcement: the gate lets the tool run only while the server announces exactly this.</summary>
/// <param name="Tool">The registry name, <c>mcp.{server}.{tool}</c>.</param>
/// <param name="Hash">The pinned <see cref="McpAnnouncement.Hash"/>.</param>
/// <param name="Description">The pinned description.</param>
/// <param name="InputSchema">The pinned input schema, canonical JSON.</param>
/// <param name="PinnedBy">The admin who pinned it.</param>
/// <param name="PinnedAt">When.</param>
/// <param name="Reason">Why (what was reviewed).</param>
public sealed record McpPin(string Tool, string Hash, string? Description, string InputSchema, string PinnedBy, DateTimeOffset PinnedAt, string Reason)
{
    /// <summary>The longest accepted reason.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>SHA-256 of the pinned description.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string DescriptionDigest => AgenticJson.Digest(Description ?? "");

    /// <summary>SHA-256 of the pinned input schema.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string SchemaDigest => AgenticJson.Digest(InputSchema);

    /// <summary>A pin of <paramref name="announcement"/>.</summary>
    public static McpPin Of(McpAnnouncement announcement, string by, DateTimeOffset at, string reason)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        if (string.IsNullOrWhiteSpace(by))
        {
            throw new ArgumentException("The principal is required.", nameof(by));
        }
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"A reason of 1 to {MaxReasonLength} characters is required.", nameof(reason));
        }
        return new(announcement.Name, announcement.Hash, announcement.Description, announcement.InputSchema, by, at, reason);
    }
}

/// <summary>
/// The pinned announcements of MCP tools, one per tool; pinning again replaces the pin. A store that can not answer
/// throws, and the gate fails closed.
/// </summary>
public interface IMcpPinStore
{
    /// <summary>The pin of <paramref name="tool"/>, if any.</summary>
    Task<McpPin?> GetAsync(string tool, CancellationToken cancellationToken);

    /// <summary>Every pin, by tool name.</summary>
    Task<IReadOnlyList<McpPin>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="pin"/> in place of the tool's earlier pin; returns the earlier one.</summary>
    Task<McpPin?> PinAsync(McpPin pin, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IMcpPinStore"/> in memory: for tests and single-process tools that keep no pins.</summary>
public sealed class InMemoryMcpPinStore : IMcpPinStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, McpPin> _pins = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<McpPin?> GetAsync(string tool, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_pins.GetValueOrDefault(tool));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<McpPin>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<McpPin> pins = [.. _pins.Values.OrderBy(p => p.Tool, StringComparer.Ordinal)];
            return Task.FromResult(pins);
        }
    }

    /// <inheritdoc />
    public Task<McpPin?> PinAsync(McpPin pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        lock (_lock)
        {
            var earlier = _pins.GetValueOrDefault(pin.Tool);
            _pins[pin.Tool] = pin;
            return Task.FromResult(earlier);
        }
    }
}

/// <summary>
/// Pins with every pin appended to the control chain (<see cref="AuditChain.Control"/>) after it is stored: the tool,
/// the pinned and the earlier hash, the description and schema digests, who and why.
/// </summary>
public sealed class AuditedMcpPinStore(IMcpPinStore inner, AuditLog audit, TimeProvider clock) : IMcpPinStore
{
    /// <inheritdoc />
    public Task<McpPin?> GetAsync(string tool, CancellationToken cancellationToken) => inner.GetAsync(tool, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<McpPin>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<McpPin?> PinAsync(McpPin pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var earlier = await inner.PinAsync(pin, cancellationToken);
        await ControlChain.AppendAsync(audit, AuditKinds.McpPinned, pin.Tool, clock.GetUtcNow(), new JsonObject
        {
            ["tool"] = pin.Tool,
            ["hash"] = pin.Hash,
            ["descriptionDigest"] = pin.DescriptionDigest,
            ["schemaDigest"] = pin.SchemaDigest,
            ["previousHash"] = earlier?.Hash,
            ["by"] = pin.PinnedBy,
            ["reason"] = pin.Reason,
        }, cancellationToken);
        return earlier;
    }
}
