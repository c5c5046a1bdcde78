using Agentic.Core.Secrets;
using Agentic.Core.Tools.Builtin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Core.Tools.Mcp;

/// <summary>
/// The configured MCP servers' connections, and their tools as the registry holds them. Tools are discovered once, when
/// the registry is built: a server that can not be reached then, or a tool whose name or schema can not be governed, is
/// left out and logged (a step naming it is refused as an unknown tool), and the host starts without it.
/// </summary>
public sealed partial class McpServers : IAsyncDisposable, IDisposable
{
    private readonly McpOptions _options;
    private readonly ILogger _logger;

    /// <summary>Connections (not opened yet) to every server in <paramref name="options"/>.</summary>
    public McpServers(McpOptions options, ISecretProvider secrets, EgressPolicy egress, EgressClient client, ILoggerFactory? loggers = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger<McpServers>();
        Connections = [.. options.Servers.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new McpServerConnection(s.Key, s.Value, secrets, egress, client, loggers, clock))];
    }

    /// <summary>One connection per configured server, by name.</summary>
    public IReadOnlyList<McpServerConnection> Connections { get; }

    /// <summary>Lists every server's tools and makes a registry tool of each one that can be governed.</summary>
    public async Task<IReadOnlyList<McpTool>> DiscoverAsync(CancellationToken cancellationToken)
    {
        var found = await Task.WhenAll(Connections.Select(c => DiscoverAsync(c, cancellationToken)));
        return [.. found.SelectMany(t => t)];
    }

    private async Task<IReadOnlyList<McpTool>> DiscoverAsync(McpServerConnection server, CancellationToken cancellationToken)
    {
        IReadOnlyList<McpAnnouncement> announced;
        try
        {
            announced = await server.ListAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnreachable(_logger, server.Name, ex.GetType().Name, ex.Message);
            return [];
        }
        var tools = new List<McpTool>();
        foreach (var announcement in announced)
        {
            if (!McpNames.IsValidTool(announcement.Tool))
            {
                LogToolLeftOut(_logger, server.Name, announcement.Tool, "its name is not 1 to 64 letters, digits, '_', '-' or '.'");
                continue;
            }
            if (tools.Any(t => t.RemoteName == announcement.Tool))
            {
                LogToolLeftOut(_logger, server.Name, announcement.Tool, "the server announces it twice");
                continue;
            }
            try
            {
                // The registry compiles it again; a schema it can not compile would stop the host, so it is left out here.
                ToolSchema.Compile(announcement.InputSchema, $"input schema of {announcement.Name}");
            }
            catch (ArgumentException ex)
            {
                LogToolLeftOut(_logger, server.Name, announcement.Tool, ex.Message);
                continue;
            }
            tools.Add(new McpTool(server, announcement, server.Options.Tools.TryGetValue(announcement.Tool, out var classified) ? classified : null));
        }
        foreach (var unannounced in server.Options.Tools.Keys.Where(k => tools.All(t => t.RemoteName != k)))
        {
            LogToolLeftOut(_logger, server.Name, unannounced, "it is classified in the settings but the server does not announce it");
        }
        return tools;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var connection in Connections)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>Ends every session, for a container disposed synchronously (stdio servers are stopped either way).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    [LoggerMessage(EventId = 70, Level = LogLevel.Warning, Message = "MCP server {Server} could not be reached to list its tools ({Error}: {Message}); its tools are not offered")]
    private static partial void LogUnreachable(ILogger logger, string server, string error, [Telemetry.SecretData] string message);

    [LoggerMessage(EventId = 71, Level = LogLevel.Warning, Message = "MCP tool {Tool} of server {Server} is not offered: {Reason}")]
    private static partial void LogToolLeftOut(ILogger logger, string server, string tool, [Telemetry.SecretData] string reason);
}
