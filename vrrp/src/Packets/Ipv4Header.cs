using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Tandem.Vrrp.Packets;

/// <summary>Reads the IPv4 header that a Linux raw socket puts in front of every received datagram.</summary>
internal static class Ipv4Header
{
    public const int MinLength = 20;

    /// <summary>
    /// Splits a datagram into its header fields and payload. Returns false with a problem description when the
    /// header is truncated, is not IPv4, or its lengths do not fit the received bytes.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out ReceivedIpInfo info, out int payloadOffset, out int payloadLength, [NotNullWhen(false)] out string? problem)
    {
        info = default;
        payloadOffset = 0;
        payloadLength = 0;

        if (datagram.Length < MinLength)
        {
            problem = $"datagram of {datagram.Length} bytes is shorter than an IPv4 header ({MinLength} bytes)";
            return false;
        }

        var version = datagram[0] >> 4;
        if (version != 4)
        {
            problem = $"IP version {version}, expected 4";
            return false;
        }

        var headerLength = (datagram[0] & 0x0F) * 4;
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (headerLength < MinLength || headerLength > datagram.Length)
        {
            problem = $"IPv4 header length {headerLength} does not fit the {datagram.Length} received bytes";
            return false;
        }

        // Linux trims Ethernet padding before raw delivery, so the total length must equal the bytes received.
        if (totalLength != datagram.Length)
        {
            problem = $"IPv4 total length {totalLength} does not match the {datagram.Length} received bytes";
            return false;
        }

        info = new ReceivedIpInfo(
            Source: new IPAddress(datagram.Slice(12, 4)),
            Destination: new IPAddress(datagram.Slice(16, 4)),
            Ttl: datagram[8],
            Protocol: datagram[9]);
        payloadOffset = headerLength;
        payloadLength = totalLength - headerLength;
        problem = null;
        return true;
    }
}
