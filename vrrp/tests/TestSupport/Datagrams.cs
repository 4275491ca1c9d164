using System.Buffers.Binary;
using System.Net;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Tests.TestSupport;

/// <summary>Builds packets the way they arrive from a Linux raw socket, for tests.</summary>
internal static class Datagrams
{
    public static readonly IPAddress Group = IPAddress.Parse("224.0.0.18");

    /// <summary>Wraps <paramref name="payload"/> in a 20-byte IPv4 header.</summary>
    public static byte[] Ipv4(IPAddress source, IPAddress destination, byte ttl, ReadOnlySpan<byte> payload, byte protocol = 112)
    {
        var datagram = new byte[20 + payload.Length];
        datagram[0] = 0x45;
        datagram[1] = 0xC0;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)datagram.Length);
        datagram[8] = ttl;
        datagram[9] = protocol;
        source.TryWriteBytes(datagram.AsSpan(12, 4), out _);
        destination.TryWriteBytes(datagram.AsSpan(16, 4), out _);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(10), InternetChecksum.Compute(datagram.AsSpan(0, 20)));
        payload.CopyTo(datagram.AsSpan(20));
        return datagram;
    }

    /// <summary>Encodes a valid VRRPv3 advert from <paramref name="source"/> to 224.0.0.18 with TTL 255.</summary>
    public static byte[] Advert(IPAddress source, byte vrid, byte priority, ushort intervalCentiseconds = 100, params IPAddress[] addresses)
    {
        if (addresses.Length == 0)
        {
            addresses = [IPAddress.Parse("198.51.100.100")];
        }

        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, vrid, priority, intervalCentiseconds, addresses);
        var message = new byte[VrrpPacket.GetLength(advertisement)];
        VrrpPacket.Write(advertisement, source, Group, message);
        return Ipv4(source, Group, 255, message);
    }
}
