using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// A tool of an MCP server as the registry offers it: the input schema and description as the server announced them,
/// everything else from configuration (<see cref="McpToolOptions"/>; an unclassified tool is high risk, irreversible and
/// not idempotent). The descriptor follows the announcement the gate last found pinned (<see cref="McpGovernance"/>), so
/// its <see cref="ToolDescriptor.Hash"/> changes with it and a decision made for another announcement is not acted on.
/// </summary>
public sealed class McpTool : ITool
{
    private readonly McpToolOptions _options;
    private volatile State _state;

    /// <summary>A tool of <paramref name="server"/> as <paramref name="announcement"/> describes it.</summary>
    public McpTool(McpServerConnection server, McpAnnouncement announcement, McpToolOptions? options)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(announcement);
        Server = server;
        _options = options ?? new McpToolOptions();
        _state = new(announcement, Describe(announcement));
    }

    /// <summary>The server's connection.</summary>
    public McpServerConnection Server { get; }

    /// <summary>The tool's name as the server announces it.</summary>
    public string RemoteName => _state.Announcement.Tool;

    /// <summary>The announcement the descriptor was made from.</summary>
    public McpAnnouncement Announcement => _state.Announcement;

    /// <inheritdoc />
    public ToolDescriptor Descriptor => _state.Descriptor;

    /// <summary>Takes <paramref name="announcement"/> (already pinned) as the tool's contract.</summary>
    internal void Adopt(McpAnnouncement announcement) => _state = new(announcement, Describe(announcement));

    /// <inheritdoc />
    public async Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var name = Descriptor.Name;
        CallToolResult result;
        try
        {
            result = await Server.CallAsync(RemoteName, invocation.Arguments, invocation.IdempotencyKey, cancellationToken);
        }
        catch (McpProtocolException ex)
        {
            // The server refused the request itself (unknown tool, invalid parameters): asking again changes nothing.
            throw new ToolException($"{name}: the MCP server refused the call ({ex.ErrorCode}): {ex.Message}", retryable: false, ex);
        }
        catch (Exception ex) when (ex is McpException or IOException or HttpRequestException or ClientTransportClosedException or InvalidOperationException
            && !cancellationToken.IsCancellationRequested)
        {
            throw new ToolException($"{name}: the MCP server '{Server.Name}' could not be reached: {ex.Message}", retryable: true, ex);
        }
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
        if (result.IsError == true)
        {
            throw new ToolException($"{name} reported an error: {Clip(text, 500)}", retryable: false);
        }
        var output = result.StructuredContent is { ValueKind: not JsonValueKind.Undefined } structured
            ? structured.Clone()
            : JsonSerializer.SerializeToElement(new JsonObject { ["content"] = JsonSerializer.SerializeToNode(result.Content, McpJsonUtilities.DefaultOptions) });
        var summary = text.Length > 0 ? Clip(text, 200) : $"{result.Content.Count} content block(s)";
        return new ToolOutcome(null, summary, output);
    }

    private ToolDescriptor Describe(McpAnnouncement announcement) =>
        new(announcement.Name, "mcp-" + announcement.Hash["sha256:".Length..][..12], announcement.Description ?? "", _options.RiskLevel, _options.SideEffectClass, _options.Idempotent,
            TimeSpan.FromSeconds(_options.TimeoutSeconds), _options.MaxOutputBytes)
        {
            InputSchema = announcement.InputSchema,
            RateLimit = _options.RateLimit is { } permits ? new ToolRateLimit(permits, TimeSpan.FromSeconds(_options.RatePerSeconds)) : null,
            MaxConcurrency = _options.MaxConcurrency,
            // The executor resolves what the server was configured to receive, so every form of it is redacted from outputs.
            Secrets = Server.Options.SecretNames is { Count: > 0 } secrets ? secrets : null,
            Cost = _options.Cost,
            Tags = [McpNames.Tag, .. _options.Tags.Where(t => t != McpNames.Tag)],
        };

    private static string Clip(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }
        var cut = new StringBuilder(text, 0, max, max + 1);
        return cut.Append('…').ToString();
    }

    private sealed record State(McpAnnouncement Announcement, ToolDescriptor Descriptor);
}
