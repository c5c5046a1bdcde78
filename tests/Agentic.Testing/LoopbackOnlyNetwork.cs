using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Testing;

/// <summary>
/// The name resolution and connections of an egress client under test. Names resolve only from the table given to
/// <see cref="Map"/>; a connection is opened only to 127.0.0.0/8 or ::1. Any other connection attempt is recorded in
/// <see cref="Violations"/> and refused before a socket exists, so a test never sends a packet off this machine, even
/// when the code under test is wrong; tests assert <see cref="Violations"/> is empty.
/// </summary>
public sealed class LoopbackOnlyNetwork
{
    private readonly ConcurrentDictionary<string, IPAddress[]> _names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["localhost"] = [IPAddress.Loopback],
    };

    /// <summary>Every connection refused because it was not to loopback: what the code under test tried to reach.</summary>
    public ConcurrentQueue<IPEndPoint> Violations { get; } = new();

    /// <summary>Every loopback connection opened.</summary>
    public ConcurrentQueue<IPEndPoint> Connections { get; } = new();

    /// <summary>Every name looked up.</summary>
    public ConcurrentQueue<string> Lookups { get; } = new();

    /// <summary>Makes <paramref name="name"/> resolve to <paramref name="addresses"/>.</summary>
    public LoopbackOnlyNetwork Map(string name, params string[] addresses)
    {
        _names[name] = [.. addresses.Select(IPAddress.Parse)];
        return this;
    }

    /// <summary>The resolver: the table, else "host not found".</summary>
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Lookups.Enqueue(host);
        return _names.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses)
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }

    /// <summary>The connector: loopback only.</summary>
    public async ValueTask<Stream> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!IsLoopback(endpoint.Address))
        {
            Violations.Enqueue(endpoint);
            throw new InvalidOperationException($"The test network refused a connection to {endpoint}: only 127.0.0.0/8 and ::1 may be reached.");
        }
        Connections.Enqueue(endpoint);
        return await EgressClient.ConnectSocketAsync(endpoint, cancellationToken);
    }

    /// <summary>127.0.0.0/8 and ::1 exactly; an IPv4-mapped or NAT64 form is not loopback here.</summary>
    public static bool IsLoopback(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetwork
            ? address.GetAddressBytes()[0] == 127
            : address.Equals(IPAddress.IPv6Loopback);
    }
}
