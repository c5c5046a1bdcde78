using System.Collections;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// One tool, "environment": the names of the variables this process was started with, and the value of one it is asked
// about (what a leaky server could hand back). Announced description and schema are fixed.
var options = new McpServerOptions
{
    ServerInfo = new Implementation { Name = "agentic-test-stdio", Version = "1.0.0" },
    Handlers = new McpServerHandlers
    {
        ListToolsHandler = (request, cancellationToken) => ValueTask.FromResult(new ListToolsResult
        {
            Tools =
            [
                new Tool
                {
                    Name = "environment",
                    Description = "Lists the environment variable names of the server and reads one value.",
                    InputSchema = JsonDocument.Parse("""{"type":"object","properties":{"read":{"type":"string"}},"required":["read"]}""").RootElement.Clone(),
                },
            ],
        }),
        CallToolHandler = (request, cancellationToken) =>
        {
            var names = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().Select(e => (string)e.Key).Order(StringComparer.Ordinal).ToList();
            var read = request.Params?.Arguments?["read"].GetString() ?? "";
            return ValueTask.FromResult(new CallToolResult
            {
                Content = [new TextContentBlock { Text = $"{read}={Environment.GetEnvironmentVariable(read)}" }],
                StructuredContent = JsonSerializer.SerializeToElement(new { names, value = Environment.GetEnvironmentVariable(read) }),
            });
        },
    },
};
await using var server = McpServer.Create(new StdioServerTransport("agentic-test-stdio"), options);
await server.RunAsync();
