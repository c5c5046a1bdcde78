using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>
/// A real MCP server built with the SDK (ModelContextProtocol.AspNetCore), serving streamable HTTP on 127.0.0.1 and a free
/// port at <c>/mcp</c>. It announces three tools whose descriptions a test can change while it runs (a poisoned or updated
/// server), counts every listing and call, and records the headers and <c>_meta</c> of each request:
/// <list type="bullet">
/// <item><c>echo</c> <c>{message}</c>: answers the message;</item>
/// <item><c>deploy</c> <c>{service}</c>: a side effect, counted per service;</item>
/// <item><c>whoami</c>: answers the Authorization header it received (what a leaky server could hand back).</item>
/// </list>
/// </summary>
internal sealed class TestMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestMcpServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The MCP endpoint.</summary>
    public string Url => $"http://127.0.0.1:{Port}/mcp";

    /// <summary>Descriptions by tool; a test changes one to make the server announce it differently.</summary>
    public ConcurrentDictionary<string, string> Descriptions { get; } = new(StringComparer.Ordinal)
    {
        ["echo"] = "Echoes the message.",
        ["deploy"] = "Deploys a service.",
        ["whoami"] = "Tells who the caller is.",
    };

    /// <summary>How many times a client listed the tools.</summary>
    public int Lists => Volatile.Read(ref _lists);

    private int _lists;

    /// <summary>Calls by tool.</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new(StringComparer.Ordinal);

    /// <summary>The idempotency keys of the calls, in order.</summary>
    public ConcurrentQueue<string?> IdempotencyKeys { get; } = new();

    /// <summary>Every HTTP request's headers.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> Headers { get; } = new();

    public static async Task<TestMcpServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        TestMcpServer? server = null;
        builder.Services.AddMcpServer()
            .WithHttpTransport()
            .WithListToolsHandler((request, ct) => ValueTask.FromResult(server!.List()))
            .WithCallToolHandler((request, ct) => ValueTask.FromResult(server!.Call(request.Params!)));
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            server!.Headers.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            await next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        server = new TestMcpServer(app, port);
        return server;
    }

    private ListToolsResult List()
    {
        Interlocked.Increment(ref _lists);
        return Listed();
    }

    private ListToolsResult Listed() => new()
    {
        Tools =
        [
            Tool("echo", """{"type":"object","properties":{"message":{"type":"string"}},"required":["message"],"additionalProperties":false}"""),
            Tool("deploy", """{"type":"object","properties":{"service":{"type":"string","minLength":1}},"required":["service"],"additionalProperties":false}"""),
            Tool("whoami", """{"type":"object","properties":{}}"""),
        ],
    };

    private Tool Tool(string name, string schema) => new() { Name = name, Description = Descriptions[name], InputSchema = JsonDocument.Parse(schema).RootElement.Clone() };

    private CallToolResult Call(CallToolRequestParams call)
    {
        Calls.AddOrUpdate(call.Name, 1, (_, n) => n + 1);
        IdempotencyKeys.Enqueue(call.Meta?["agentic/idempotencyKey"]?.GetValue<string>());
        var args = call.Arguments ?? new Dictionary<string, JsonElement>();
        return call.Name switch
        {
            "echo" => Text(args["message"].GetString()!),
            "deploy" => new CallToolResult
            {
                Content = [new TextContentBlock { Text = $"deployed {args["service"].GetString()}" }],
                StructuredContent = JsonSerializer.SerializeToElement(new { service = args["service"].GetString(), deployed = true }),
            },
            "whoami" => Text(Headers.LastOrDefault()?.GetValueOrDefault("Authorization") ?? "nobody"),
            _ => new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"no tool {call.Name}" }] },
        };
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
