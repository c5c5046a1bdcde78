using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Agentic.Testing;

/// <summary>
/// A real HTTP server on 127.0.0.1 and a free port, answering with <c>respond</c> and recording every request it got,
/// so a test can show both what a tool sent and that a refused call never left the process.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, Recorded, Task> _respond;
    private readonly Task _loop;

    private LoopbackServer(int port, Func<HttpListenerContext, Recorded, Task> respond)
    {
        Port = port;
        _respond = respond;
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        // The same server under another host name (resolved to 127.0.0.1 by the test network): a second origin.
        _listener.Prefixes.Add($"http://localhost:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>The server's base URL, without a trailing slash.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<Recorded> Requests { get; } = new();

    public static LoopbackServer Start(Func<HttpListenerContext, Task> respond) => Start((context, _) => respond(context));

    /// <summary>A server answering with <paramref name="respond"/>, which also gets the request as it was recorded (its body read).</summary>
    public static LoopbackServer Start(Func<HttpListenerContext, Recorded, Task> respond)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new LoopbackServer(port, respond);
    }

    /// <summary>A server answering every request with <paramref name="status"/> and a JSON body.</summary>
    public static LoopbackServer Json(string json, int status = 200) => Start(c => WriteAsync(c, status, "application/json", json));

    public static async Task WriteAsync(HttpListenerContext context, int status, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    public static void Redirect(HttpListenerContext context, int status, string location)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["Location"] = location;
        context.Response.ContentLength64 = 0;
        context.Response.Close();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var headers = context.Request.Headers.AllKeys.Where(k => k is not null)
                    .ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
                var recorded = new Recorded(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, headers, body);
                Requests.Enqueue(recorded);
                try
                {
                    await _respond(context, recorded);
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
                {
                    // The client went away (a tool that read only what it needed).
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }

    /// <summary>One request as the server got it.</summary>
    public sealed record Recorded(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);
}
