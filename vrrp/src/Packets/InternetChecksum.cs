using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Vrrp.Packets;

/// <summary>The 16-bit one's complement checksum of RFC 1071, as used by IP, TCP, UDP and VRRP.</summary>
internal static class InternetChecksum
{
    /// <summary>Length of the IPv4 pseudo-header: source, destination, zero, protocol, upper-layer length.</summary>
    public const int Ipv4PseudoHeaderLength = 12;

    /// <summary>Length of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, upper-layer length, zero, next header.</summary>
    public const int Ipv6PseudoHeaderLength = 40;

    /// <summary>IANA protocol number of VRRP.</summary>
    public const byte VrrpProtocol = 112;

    /// <summary>Offset of the checksum field in a VRRP message.</summary>
    public const int VrrpChecksumOffset = 6;

    /// <summary>
    /// Computes the checksum of a VRRP message over the IPv4 pseudo-header (source, destination, zero,
    /// protocol 112, VRRP length) followed by the message, with the message's checksum field taken as zero.
    /// </summary>
    /// <remarks>
    /// keepalived 2.2.7, FRR vrrpd and Wireshark 4.0 compute and check the VRRPv3 checksum over IPv4 this way. The
    /// keepalived advert <c>313396010064d367c0000264</c> from 192.0.2.11 to 224.0.0.18 carries 0xd367, which only
    /// this form yields (the message alone sums to 0x7602).
    /// NOTE: RFC 9568 §5.2.8, as other implementations quote it, defines the IPv4 checksum over the message alone. A
    /// peer that follows that text fails our check with BadChecksum. We keep the deployed form because keepalived
    /// 2.2.7 sends it and accepts it.
    /// </remarks>
    public static ushort ComputeVrrpIpv4(IPAddress source, IPAddress destination, ReadOnlySpan<byte> vrrpMessage)
    {
        if (source.AddressFamily != AddressFamily.InterNetwork || destination.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("The IPv4 pseudo-header needs IPv4 source and destination addresses.");
        }

        Span<byte> pseudoHeader = stackalloc byte[Ipv4PseudoHeaderLength];
        source.TryWriteBytes(pseudoHeader[..4], out _);
        destination.TryWriteBytes(pseudoHeader.Slice(4, 4), out _);
        pseudoHeader[8] = 0;
        pseudoHeader[9] = VrrpProtocol;
        BinaryPrimitives.WriteUInt16BigEndian(pseudoHeader[10..], checked((ushort)vrrpMessage.Length));

        var sum = Accumulate(0, pseudoHeader);

        // The checksum field (bytes 6 and 7) counts as zero, so a message can be checked and built the same way.
        sum = Accumulate(sum, vrrpMessage[..6]);
        sum = Accumulate(sum, vrrpMessage[8..]);
        return Finish(sum);
    }

    /// <summary>
    /// Computes the checksum of a VRRP message over the IPv6 pseudo-header with next header 112, as RFC 9568 §5.2.8
    /// requires for VRRPv3 over IPv6, with the message's checksum field taken as zero.
    /// </summary>
    public static ushort ComputeVrrpIpv6(IPAddress source, IPAddress destination, ReadOnlySpan<byte> vrrpMessage) =>
        ComputeIpv6(source, destination, VrrpProtocol, vrrpMessage, VrrpChecksumOffset);

    /// <summary>
    /// Computes the checksum of an upper-layer packet over the IPv6 pseudo-header of RFC 8200 §8.1 (source,
    /// destination, 32-bit upper-layer length, three zero bytes, next header), with the 2-byte checksum field at
    /// <paramref name="checksumOffset"/> taken as zero. VRRP and ICMPv6 both use it.
    /// </summary>
    public static ushort ComputeIpv6(IPAddress source, IPAddress destination, byte nextHeader, ReadOnlySpan<byte> upperLayer, int checksumOffset)
    {
        if (source.AddressFamily != AddressFamily.InterNetworkV6 || destination.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("The IPv6 pseudo-header needs IPv6 source and destination addresses.");
        }

        Span<byte> pseudoHeader = stackalloc byte[Ipv6PseudoHeaderLength];
        pseudoHeader.Clear();
        source.TryWriteBytes(pseudoHeader[..16], out _);
        destination.TryWriteBytes(pseudoHeader.Slice(16, 16), out _);
        BinaryPrimitives.WriteUInt32BigEndian(pseudoHeader[32..], checked((uint)upperLayer.Length));
        pseudoHeader[39] = nextHeader;

        var sum = Accumulate(0, pseudoHeader);
        sum = Accumulate(sum, upperLayer[..checksumOffset]);
        sum = Accumulate(sum, upperLayer[(checksumOffset + 2)..]);
        return Finish(sum);
    }

    /// <summary>
    /// Computes the checksum of a VRRP message alone, with its checksum field (bytes 6 and 7) taken as zero: the
    /// VRRPv2 checksum of RFC 3768 §5.3.8, and the VRRPv3 form of <see cref="VrrpChecksumMode.MessageOnly"/>.
    /// </summary>
    public static ushort ComputeVrrpMessageOnly(ReadOnlySpan<byte> vrrpMessage)
    {
        var sum = Accumulate(0, vrrpMessage[..6]);
        sum = Accumulate(sum, vrrpMessage[8..]);
        return Finish(sum);
    }

    /// <summary>Computes the checksum of <paramref name="data"/> alone.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Accumulate(0, data));

    private static ulong Accumulate(ulong sum, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        // An odd trailing byte is padded with a zero byte on the right, as RFC 1071 specifies.
        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        return sum;
    }

    private static ushort Finish(ulong sum)
    {
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
