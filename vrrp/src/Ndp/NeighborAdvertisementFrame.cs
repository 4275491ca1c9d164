using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Ndp;

/// <summary>
/// Builds the Ethernet frame of an unsolicited neighbour advertisement (RFC 4861 §7.2.6), which informs the hosts on
/// the link that a virtual IPv6 address now belongs to this node's MAC address.
/// </summary>
/// <remarks>
/// The frame goes from the interface's MAC to 33-33-00-00-00-01, the Ethernet address of ff02::1 (RFC 2464 §7). The
/// IPv6 packet goes from the virtual address, which is on the interface by then, to all-nodes ff02::1 with hop limit
/// 255 (RFC 4861 §7.1.2 discards any other). The ICMPv6 message is type 136 with the Override flag set, the
/// Solicited flag clear, the Router flag as configured, the virtual address as target and a Target Link-Layer
/// Address option (type 2, 8 bytes) with the MAC.
/// </remarks>
internal static class NeighborAdvertisementFrame
{
    public const int EthernetHeaderLength = 14;
    public const int IcmpLength = 32;
    public const int Length = EthernetHeaderLength + Ipv6Header.Length + IcmpLength;

    public const byte IcmpV6Protocol = 58;
    public const byte TypeNeighborAdvertisement = 136;
    public const byte FlagRouter = 0x80;
    public const byte FlagSolicited = 0x40;
    public const byte FlagOverride = 0x20;
    public const byte OptionTargetLinkLayerAddress = 2;

    private const ushort EtherTypeIpv6 = 0x86DD;
    private const int IcmpChecksumOffset = 2;

    public static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");

    private static readonly byte[] AllNodesMac = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];

    /// <summary>Returns the frame that announces <paramref name="target"/> at <paramref name="mac"/>.</summary>
    public static byte[] Build(IPAddress target, PhysicalAddress mac, bool routerFlag)
    {
        if (target.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"A neighbour advertisement announces an IPv6 address, not {target}.", nameof(target));
        }

        var macBytes = mac.GetAddressBytes();
        if (macBytes.Length != 6)
        {
            throw new ArgumentException($"The interface needs a 6-byte Ethernet address, not '{mac}'.", nameof(mac));
        }

        var frame = new byte[Length];
        AllNodesMac.CopyTo(frame, 0);
        macBytes.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeIpv6);

        var source = new IPAddress(target.GetAddressBytes());
        Ipv6Header.Write(frame.AsSpan(EthernetHeaderLength), source, AllNodes, VrrpPacket.RequiredTtl, IcmpV6Protocol, IcmpLength);

        var icmp = frame.AsSpan(EthernetHeaderLength + Ipv6Header.Length, IcmpLength);
        icmp[0] = TypeNeighborAdvertisement;
        icmp[1] = 0;
        icmp[4] = (byte)(FlagOverride | (routerFlag ? FlagRouter : 0));
        source.TryWriteBytes(icmp.Slice(8, 16), out _);
        icmp[24] = OptionTargetLinkLayerAddress;
        icmp[25] = 1;
        macBytes.CopyTo(icmp[26..]);

        var checksum = InternetChecksum.ComputeIpv6(source, AllNodes, IcmpV6Protocol, icmp, IcmpChecksumOffset);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[IcmpChecksumOffset..], checksum);
        return frame;
    }
}
