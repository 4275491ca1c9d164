using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Tandem.Vrrp.Packets;

/// <summary>
/// Reads and writes the fixed IPv6 header (RFC 8200 §3) that the raw IPv6 transport puts in front of each received
/// VRRP message. A raw AF_INET6 socket never delivers the header itself (RFC 3542 §3), so the transport rebuilds
/// it from the sender's address and the IPV6_PKTINFO and IPV6_HOPLIMIT ancillary data.
/// </summary>
internal static class Ipv6Header
{
    public const int Length = 40;

    /// <summary>Writes a fixed header without extension headers and returns its length.</summary>
    public static int Write(Span<byte> destination, IPAddress source, IPAddress target, byte hopLimit, byte nextHeader, int payloadLength)
    {
        var header = destination[..Length];
        header.Clear();
        header[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], checked((ushort)payloadLength));
        header[6] = nextHeader;
        header[7] = hopLimit;
        source.TryWriteBytes(header.Slice(8, 16), out _);
        target.TryWriteBytes(header.Slice(24, 16), out _);
        return Length;
    }

    /// <summary>
    /// Splits a datagram into its header fields and payload. Returns false with a problem description when the
    /// header is truncated, is not IPv6, or its payload length does not fit the received bytes.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out ReceivedIpInfo info, out int payloadOffset, out int payloadLength, [NotNullWhen(false)] out string? problem)
    {
        info = default;
        payloadOffset = 0;
        payloadLength = 0;

        if (datagram.Length < Length)
        {
            problem = $"datagram of {datagram.Length} bytes is shorter than an IPv6 header ({Length} bytes)";
            return false;
        }

        var version = datagram[0] >> 4;
        if (version != 6)
        {
            problem = $"IP version {version}, expected 6";
            return false;
        }

        var declared = BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]);
        if (declared != datagram.Length - Length)
        {
            problem = $"IPv6 payload length {declared} does not match the {datagram.Length - Length} received payload bytes";
            return false;
        }

        // The addresses carry no scope id, so that they compare equal to configured addresses such as fe80::12.
        info = new ReceivedIpInfo(
            Source: new IPAddress(datagram.Slice(8, 16)),
            Destination: new IPAddress(datagram.Slice(24, 16)),
            Ttl: datagram[7],
            Protocol: datagram[6]);
        payloadOffset = Length;
        payloadLength = declared;
        problem = null;
        return true;
    }
}
