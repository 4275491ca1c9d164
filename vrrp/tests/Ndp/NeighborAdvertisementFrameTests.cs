using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using PacketDotNet.Ndp;
using Tandem.Vrrp.Ndp;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Tests.Ndp;

public sealed class NeighborAdvertisementFrameTests
{
    private static readonly IPAddress Target = IPAddress.Parse("2001:db8::100");
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("02-00-5E-10-00-01");

    [Fact]
    public void Build_PacketDotNetDecodesFields()
    {
        var frame = NeighborAdvertisementFrame.Build(Target, Mac, routerFlag: false);

        var ethernet = Assert.IsType<EthernetPacket>(Packet.ParsePacket(LinkLayers.Ethernet, frame));
        var ip = Assert.IsType<IPv6Packet>(ethernet.PayloadPacket);
        var icmp = Assert.IsType<IcmpV6Packet>(ip.PayloadPacket);
        var advertisement = Assert.IsType<NdpNeighborAdvertisementPacket>(icmp.PayloadPacket);

        Assert.Equal(PhysicalAddress.Parse("33-33-00-00-00-01"), ethernet.DestinationHardwareAddress);
        Assert.Equal(Mac, ethernet.SourceHardwareAddress);
        Assert.Equal(EthernetType.IPv6, ethernet.Type);
        Assert.Equal(Target, ip.SourceAddress);
        Assert.Equal(IPAddress.Parse("ff02::1"), ip.DestinationAddress);
        Assert.Equal(255, ip.HopLimit);
        Assert.Equal(ProtocolType.IcmpV6, ip.Protocol);
        Assert.Equal(IcmpV6Type.NeighborAdvertisement, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.True(advertisement.Override);
        Assert.False(advertisement.Solicited);
        Assert.False(advertisement.Router);
        Assert.Equal(Target, advertisement.TargetAddress);
        var option = Assert.IsType<NdpLinkLayerAddressOption>(Assert.Single(advertisement.OptionsCollection));
        Assert.Equal(NeighborAdvertisementFrame.OptionTargetLinkLayerAddress, (byte)option.Type);
        Assert.Equal(Mac, option.LinkLayerAddress);
    }

    [Fact]
    public void Build_RouterFlagSet()
    {
        var frame = NeighborAdvertisementFrame.Build(Target, Mac, routerFlag: true);

        var flags = frame[NeighborAdvertisementFrame.EthernetHeaderLength + Ipv6Header.Length + 4];

        Assert.Equal(NeighborAdvertisementFrame.FlagRouter | NeighborAdvertisementFrame.FlagOverride, flags);
    }

    [Fact]
    public void Build_ChecksumCoversPseudoHeader()
    {
        // RFC 1071: the sum over the RFC 8200 §8.1 pseudo-header and the ICMPv6 message, checksum included, is zero.
        var frame = NeighborAdvertisementFrame.Build(Target, Mac, routerFlag: false);
        var icmp = frame.AsSpan(NeighborAdvertisementFrame.EthernetHeaderLength + Ipv6Header.Length);
        var sum = new byte[InternetChecksum.Ipv6PseudoHeaderLength + icmp.Length];
        Target.TryWriteBytes(sum.AsSpan(0, 16), out _);
        NeighborAdvertisementFrame.AllNodes.TryWriteBytes(sum.AsSpan(16, 16), out _);
        BinaryPrimitives.WriteUInt32BigEndian(sum.AsSpan(32), (uint)icmp.Length);
        sum[39] = NeighborAdvertisementFrame.IcmpV6Protocol;
        icmp.CopyTo(sum.AsSpan(InternetChecksum.Ipv6PseudoHeaderLength));

        Assert.Equal(NeighborAdvertisementFrame.Length, frame.Length);
        Assert.Equal(0, InternetChecksum.Compute(sum));
    }

    [Fact]
    public void Build_LinkLocalTarget_Accepted()
    {
        var frame = NeighborAdvertisementFrame.Build(IPAddress.Parse("fe80::1:33"), Mac, routerFlag: false);

        Assert.Equal(NeighborAdvertisementFrame.Length, frame.Length);
    }

    [Fact]
    public void Build_Ipv4Target_Throws()
    {
        Assert.Throws<ArgumentException>(() => NeighborAdvertisementFrame.Build(IPAddress.Parse("198.51.100.100"), Mac, routerFlag: false));
    }
}
