using System.Net;
using System.Net.Sockets;

namespace Agentic.Core.Tools.Builtin;

/// <summary>
/// The HTTP client of the built-in network tools. It resolves a host itself, refuses the connection when any address
/// is non-public (unless the caller allows private addresses) or a cloud metadata endpoint (always), and connects to
/// exactly the addresses it checked, so a name that resolves differently a moment later (DNS rebinding) can not move
/// the connection. No proxy (it would connect for us), no cookies, no automatic redirects.
/// </summary>
public sealed class EgressClient : IDisposable
{
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly Func<IPEndPoint, CancellationToken, ValueTask<Stream>> _connect;
    private readonly HttpMessageInvoker _strict;
    private readonly HttpMessageInvoker _permissive;

    /// <summary>A client resolving names with <see cref="Dns"/>.</summary>
    public EgressClient()
        : this(static (host, ct) => Dns.GetHostAddressesAsync(host, ct))
    {
    }

    /// <summary>A client resolving names with <paramref name="resolve"/> (tests simulate DNS answers with it).</summary>
    internal EgressClient(Func<string, CancellationToken, Task<IPAddress[]>> resolve)
        : this(resolve, ConnectSocketAsync)
    {
    }

    /// <summary>
    /// A client resolving names with <paramref name="resolve"/> and opening connections with <paramref name="connect"/>,
    /// which is only ever given an address this client checked (tests use it to keep every packet on loopback).
    /// </summary>
    public EgressClient(Func<string, CancellationToken, Task<IPAddress[]>> resolve, Func<IPEndPoint, CancellationToken, ValueTask<Stream>> connect)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        ArgumentNullException.ThrowIfNull(connect);
        _resolve = resolve;
        _connect = connect;
        // Two pools: a connection made for a rule that allows private addresses is never reused for one that does not.
        _strict = new HttpMessageInvoker(CreateHandler(allowPrivate: false), disposeHandler: true);
        _permissive = new HttpMessageInvoker(CreateHandler(allowPrivate: true), disposeHandler: true);
    }

    /// <summary>
    /// Sends <paramref name="request"/>. A refused address is a non-retryable <see cref="ToolException"/> naming the host,
    /// the address and its kind; a connection or protocol failure is a retryable one.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, bool allowPrivate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await (allowPrivate ? _permissive : _strict).SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex) when (Refusal(ex) is { } refusal)
        {
            throw new ToolException(refusal.Message, retryable: false, refusal);
        }
        catch (HttpRequestException ex)
        {
            throw new ToolException($"could not reach {request.RequestUri?.GetLeftPart(UriPartial.Authority)}: {ex.Message}", retryable: true, ex);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _strict.Dispose();
        _permissive.Dispose();
    }

    private SocketsHttpHandler CreateHandler(bool allowPrivate) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        // A body left unread (over a cap) is not drained for the connection's sake: the connection is dropped instead.
        MaxResponseDrainSize = 0,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivate, ct),
    };

    private async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        var host = endpoint.Host.Trim('[', ']');
        // IPAddress parses what Uri does (dotted, decimal, octal and hex IPv4 forms), so a literal is never looked up.
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await _resolve(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        // Every address is checked, not just the first: a name with one public and one private address is refused.
        foreach (var address in addresses)
        {
            var kind = EgressAddresses.Classify(address);
            if (EgressAddresses.IsMetadata(address))
            {
                throw new EgressRefusedException($"'{host}' resolves to {address}, a cloud metadata address, which is never allowed");
            }
            if (kind is not null && !allowPrivate)
            {
                throw new EgressRefusedException($"'{host}' resolves to {address}, a {kind} address, and no rule allows private addresses for it");
            }
        }
        SocketException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return await _connect(new IPEndPoint(address, endpoint.Port), cancellationToken);
            }
            catch (SocketException ex)
            {
                last = ex;
            }
        }
        throw last!;
    }

    /// <summary>
    /// Opens a TCP connection to exactly <paramref name="endpoint"/>: the connector this client uses unless given another.
    /// A connector that vets addresses itself (tests keep every packet on loopback) opens its connections with it too.
    /// </summary>
    public static async ValueTask<Stream> ConnectSocketAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static EgressRefusedException? Refusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is EgressRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    private sealed class EgressRefusedException(string message) : Exception(message);
}
