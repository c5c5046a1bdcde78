using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Agentic.Core.Activities;
using Agentic.Core.Json;
using Agentic.Core.Tests.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;
using Agentic.Testing;

namespace Agentic.Core.Tests.Activities;

/// <summary>Allocation is measured for the whole process: nothing else may run meanwhile.</summary>
[CollectionDefinition(nameof(AllocationMeasurements), DisableParallelization = true)]
public sealed class AllocationMeasurements;

/// <summary>
/// A target (or a tool's service) that answers 50 MB: perception, the sample tools and <c>http.request</c> read their cap
/// and let the rest go, so the host allocates a few hundred KB, not the body.
/// </summary>
[Collection(nameof(AllocationMeasurements))]
public sealed class StreamingMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const long BodyBytes = 50L * 1024 * 1024;
    private const long Budget = 3L * 1024 * 1024;

    private readonly LoopbackOnlyNetwork _network = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Assert.Empty(_network.Violations);

    [Theory]
    [InlineData("perception")]
    [InlineData("sample.diagnostics")]
    [InlineData("http.request")]
    public async Task FiftyMegabyteAnswer_RaisesAllocationByAFewHundredKilobytes_NotTheBody(string reader)
    {
        using var client = new EgressClient(_network.ResolveAsync, _network.ConnectAsync);
        await using var server = HugeServer.Start(BodyBytes);
        var target = $"http://127.0.0.1:{server.Port}/services/big";
        var targets = Admissions.For("dev", rules: Admissions.Rule("http", "127.0.0.1", server.Port, "/services/**", allowPrivate: true)).Targets;
        var http = new HttpRequestTool(Tools.HttpRequestToolTests.Policy(Tools.HttpRequestToolTests.Rule("127.0.0.1", ["GET"], ["/**"], port: server.Port)), client);
        Func<Task<string>> readOnce = reader switch
        {
            "perception" => async () =>
            {
                var ex = await Assert.ThrowsAsync<NonRetryableException>(() => new PerceiveActivity(targets, client, Agentic.Testing.TestAudit.InMemoryLog(), TimeProvider.System, Agentic.Core.Agents.AgentCatalog.Default)
                    .RunAsync(AgenticJson.ToElement(new Agentic.Core.Agents.PerceiveInput("run-1", "diagnostics", target, "observe")), new ActivityContext("run-1", "perceive", 1), Ct));
                return ex.Message;
            },
            "sample.diagnostics" => async () =>
            {
                var tool = SampleServiceTools.Create(targets, client).Single(t => t.Descriptor.Name == reader);
                var ex = await Assert.ThrowsAsync<ToolException>(() => tool.InvokeAsync(new ToolCall("run-1", "s1", target, JsonSerializer.SerializeToElement(new { }), "run-1/s1"), Ct));
                return ex.Message;
            },
            _ => async () =>
            {
                var outcome = await http.InvokeAsync(new ToolCall("run-1", "s1", "", JsonSerializer.SerializeToElement(new { method = "GET", url = target }), "run-1/s1"), Ct);
                return outcome.Output.GetProperty("truncated").GetBoolean() ? "truncated" : "whole";
            },
        };

        // The first read pays for JIT and the handler's set-up: measure the second.
        await readOnce();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var result = await readOnce();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{reader}: {allocated / 1024.0:0.0} KB allocated reading a {BodyBytes / (1024 * 1024)} MB answer; the server wrote {server.Written / 1024.0 / 1024.0:0.00} MB before the reader left; result: {result}"));
        Assert.Equal(2, server.Requests);
        Assert.True(allocated < Budget, $"{reader} allocated {allocated} bytes reading a {BodyBytes}-byte answer (budget {Budget}).");
        Assert.Contains(reader switch { "perception" => "answered more than 65536 bytes", "sample.diagnostics" => "more than its output cap", _ => "truncated" }, result, StringComparison.Ordinal);
    }

    /// <summary>
    /// A raw HTTP/1.1 server on 127.0.0.1 that answers every request with a <c>Content-Length</c> of the full size and
    /// writes one reused 64 KB buffer until it is done or the reader goes away, so it allocates next to nothing itself.
    /// </summary>
    private sealed class HugeServer : IAsyncDisposable
    {
        private static readonly byte[] Chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly long _size;
        private readonly Task _loop;
        private long _written;
        private int _requests;

        private HugeServer(long size)
        {
            _size = size;
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long Written => Interlocked.Read(ref _written);

        public int Requests => Volatile.Read(ref _requests);

        public static HugeServer Start(long size) => new(size);

        private async Task LoopAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(() => AnswerAsync(socket));
            }
        }

        private async Task AnswerAsync(Socket socket)
        {
            using var _ = socket;
            await using var stream = new NetworkStream(socket);
            try
            {
                var request = new byte[4096];
                var seen = 0;
                while (seen < request.Length && !Encoding.ASCII.GetString(request, 0, seen).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(request.AsMemory(seen));
                    if (read == 0)
                    {
                        return;
                    }
                    seen += read;
                }
                Interlocked.Increment(ref _requests);
                Interlocked.Exchange(ref _written, 0);
                var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {_size}\r\nConnection: close\r\n\r\n"));
                await stream.WriteAsync(head);
                for (long sent = 0; sent < _size; sent += Chunk.Length)
                {
                    await stream.WriteAsync(Chunk.AsMemory(0, (int)Math.Min(Chunk.Length, _size - sent)));
                    Interlocked.Add(ref _written, Chunk.Length);
                }
            }
            catch (IOException)
            {
                // The reader took what it needed and closed the connection.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
        }
    }
}
