using System.Net;
using System.Net.Sockets;

namespace Agentic.Core.Tools.Builtin;

/// <summary>Classifies the addresses an egress connection may not reach without an explicit rule.</summary>
public static class EgressAddresses
{
    // AWS, Azure and GCP instance metadata (169.254.169.254), the ECS task endpoint, and AWS's IPv6 metadata address.
    private static readonly IPAddress[] Metadata =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("fd00:ec2::254"),
    ];

    /// <summary>Whether <paramref name="address"/> is a cloud instance metadata endpoint (refused even where private addresses are allowed).</summary>
    public static bool IsMetadata(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = Unmap(address);
        return Metadata.Any(m => m.Equals(a));
    }

    /// <summary>
    /// What kind of non-public address <paramref name="address"/> is (<c>loopback</c>, <c>private</c>, <c>link-local</c>,
    /// <c>unspecified</c>, <c>shared</c>, <c>multicast</c>, <c>cloud metadata</c>), or <c>null</c> for a public one.
    /// IPv4-mapped IPv6 addresses are judged as their IPv4 address.
    /// </summary>
    public static string? Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = Unmap(address);
        if (IsMetadata(a))
        {
            return "cloud metadata";
        }
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            a.TryWriteBytes(b, out _);
            return b switch
            {
                [0, 0, 0, 0] => "unspecified",
                [0, ..] => "unspecified",
                [127, ..] => "loopback",
                [10, ..] => "private",
                [172, >= 16 and <= 31, ..] => "private",
                [192, 168, ..] => "private",
                [169, 254, ..] => "link-local",
                [100, >= 64 and <= 127, ..] => "shared",
                [>= 224 and <= 239, ..] => "multicast",
                [255, 255, 255, 255] => "broadcast",
                _ => null,
            };
        }
        if (a.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (a.Equals(IPAddress.IPv6Any))
            {
                return "unspecified";
            }
            if (a.Equals(IPAddress.IPv6Loopback))
            {
                return "loopback";
            }
            Span<byte> b = stackalloc byte[16];
            a.TryWriteBytes(b, out _);
            return b switch
            {
                [>= 0xfc and <= 0xfd, ..] => "private",
                [0xfe, >= 0x80 and <= 0xbf, ..] => "link-local",
                [0xfe, >= 0xc0, ..] => "private",
                [0xff, ..] => "multicast",
                _ => null,
            };
        }
        return "unknown";
    }

    private static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
