using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Vrrp.Addresses;

/// <summary>A virtual address with the prefix length it gets on the interface.</summary>
internal readonly record struct VirtualAddress(IPAddress Address, int PrefixLength)
{
    /// <summary>Parses <c>ADDRESS/PREFIX</c>; host bits may be set because the address is a host address, not a network.</summary>
    public static bool TryParse(string? text, out VirtualAddress address, [NotNullWhen(false)] out string? problem)
    {
        address = default;

        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the entry is empty. Write an address with a prefix length, for example 198.51.100.100/24.";
            return false;
        }

        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            problem = "the prefix length is missing. Append it, for example 198.51.100.100/24, so the address gets the subnet of the interface.";
            return false;
        }

        if (!IPAddress.TryParse(text.AsSpan(0, slash), out var ip))
        {
            problem = "the part before '/' is not an IP address.";
            return false;
        }

        var maxPrefix = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > maxPrefix)
        {
            problem = $"the prefix length must be a number from 0 to {maxPrefix}.";
            return false;
        }

        if (ip.AddressFamily == AddressFamily.InterNetwork && !IsUsableUnicast(ip))
        {
            problem = "it is not a unicast host address (0.0.0.0, 255.255.255.255, loopback and multicast addresses cannot be virtual addresses).";
            return false;
        }

        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && !IsUsableIpv6Unicast(ip))
        {
            problem = "it is not a unicast host address (::, ::1, multicast ff00::/8 and IPv4-mapped addresses cannot be virtual addresses).";
            return false;
        }

        if (text.AsSpan(0, slash).Contains('%'))
        {
            problem = "it has a zone such as %eth0. Remove the zone, because Vrrp:Interface sets it.";
            return false;
        }

        address = new VirtualAddress(ip, prefix);
        problem = null;
        return true;
    }

    private static bool IsUsableUnicast(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[4];
        ip.TryWriteBytes(bytes, out _);
        return !(bytes[0] == 0 || bytes[0] == 127 || bytes[0] >= 224);
    }

    private static bool IsUsableIpv6Unicast(IPAddress ip) =>
        !(ip.IsIPv6Multicast || ip.IsIPv4MappedToIPv6 || ip.Equals(IPAddress.IPv6Any) || ip.Equals(IPAddress.IPv6Loopback));

    /// <summary>The <c>ADDRESS/PREFIX</c> form that iproute2 accepts.</summary>
    public override string ToString() => $"{Address}/{PrefixLength}";
}
