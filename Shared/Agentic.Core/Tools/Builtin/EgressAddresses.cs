using System.Net;
using System.Net.Sockets;

namespace Agentic.Core.Tools.Builtin;

/// <summary>Classifies the addresses an egress connection may not reach without an explicit rule.</summary>
public static class EgressAddresses
{
    // Instance metadata and host agent endpoints: AWS, Azure and GCP (169.254.169.254), the ECS task endpoint, Azure's
    // wire server (168.63.129.16), Alibaba Cloud (100.100.100.200), Oracle Cloud (192.0.0.192), AWS over IPv6.
    private static readonly IPAddress[] Metadata =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("168.63.129.16"),
        IPAddress.Parse("100.100.100.200"),
        IPAddress.Parse("192.0.0.192"),
        IPAddress.Parse("fd00:ec2::254"),
    ];

    /// <summary>
    /// Whether <paramref name="address"/> is a cloud metadata or host agent endpoint (refused even where private addresses
    /// are allowed), also in its IPv4-mapped, IPv4-compatible and NAT64 (<c>64:ff9b::/96</c>) forms.
    /// </summary>
    public static bool IsMetadata(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = Embedded(address);
        return Metadata.Any(m => m.Equals(a));
    }

    /// <summary>
    /// What kind of non-public address <paramref name="address"/> is (<c>loopback</c>, <c>private</c>, <c>link-local</c>,
    /// <c>unspecified</c>, <c>shared</c>, <c>multicast</c>, <c>cloud metadata</c>), or <c>null</c> for a public one.
    /// An IPv6 address that carries an IPv4 address (mapped <c>::ffff:a.b.c.d</c>, compatible <c>::a.b.c.d</c>, NAT64
    /// <c>64:ff9b::a.b.c.d</c>) is judged as that IPv4 address.
    /// </summary>
    public static string? Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = Embedded(address);
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
                [0, ..] => "unspecified",
                [127, ..] => "loopback",
                [10, ..] => "private",
                [172, >= 16 and <= 31, ..] => "private",
                [192, 168, ..] => "private",
                [192, 0, 0, ..] => "private",
                [169, 254, ..] => "link-local",
                [100, >= 64 and <= 127, ..] => "shared",
                [>= 224 and <= 239, ..] => "multicast",
                [>= 240, ..] => "reserved",
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
                // Local-use NAT64 (64:ff9b:1::/48) and discard-only (100::/64) prefixes reach nothing public.
                [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, ..] => "private",
                [0x01, 0x00, 0, 0, 0, 0, 0, 0, ..] => "reserved",
                _ => null,
            };
        }
        return "unknown";
    }

    /// <summary>
    /// The IPv4 address an IPv6 address carries (mapped <c>::ffff:0:0/96</c>, compatible <c>::/96</c> other than
    /// <c>::</c> and <c>::1</c>, NAT64 <c>64:ff9b::/96</c>), else the address itself.
    /// </summary>
    public static IPAddress Embedded(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        var compatible = b[..12].IndexOfAnyExcept((byte)0) < 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1);
        var nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..12].IndexOfAnyExcept((byte)0) < 0;
        return compatible || nat64 ? new IPAddress(b[12..]) : address;
    }
}
