using System.Net;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Tests.TestSupport;

/// <summary>Builds IPv6 datagrams the way the raw IPv6 transport hands them on: fixed header, then the VRRP message.</summary>
internal static class Ipv6Datagrams
{
    public static readonly IPAddress Group = IPAddress.Parse("ff02::12");

    /// <summary>Puts a 40-byte IPv6 header without extension headers in front of <paramref name="payload"/>.</summary>
    public static byte[] Wrap(IPAddress source, IPAddress destination, byte hopLimit, ReadOnlySpan<byte> payload, byte nextHeader = 112)
    {
        var datagram = new byte[Ipv6Header.Length + payload.Length];
        Ipv6Header.Write(datagram, source, destination, hopLimit, nextHeader, payload.Length);
        payload.CopyTo(datagram.AsSpan(Ipv6Header.Length));
        return datagram;
    }

    /// <summary>Encodes a valid VRRPv3 advert from <paramref name="source"/> to ff02::12 with hop limit 255.</summary>
    public static byte[] Advert(IPAddress source, byte vrid, byte priority, params IPAddress[] addresses)
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, vrid, priority, 100, addresses);
        var message = new byte[VrrpPacket.GetLength(advertisement)];
        VrrpPacket.Write(advertisement, source, Group, message);
        return Wrap(source, Group, 255, message);
    }
}
