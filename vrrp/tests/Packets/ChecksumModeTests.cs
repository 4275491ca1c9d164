using System.Buffers.Binary;
using System.Net;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

/// <summary>The two forms of the VRRPv3 checksum over IPv4 and the detection of a peer that uses the other one.</summary>
public sealed class ChecksumModeTests
{
    private static readonly IPAddress Source = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress Vip = IPAddress.Parse("198.51.100.100");

    private static readonly VrrpReadContext PseudoHeaderContext = new(VrrpVersion.V3, 1, _ => false);

    private static readonly VrrpReadContext MessageOnlyContext = PseudoHeaderContext with { ChecksumMode = VrrpChecksumMode.MessageOnly };

    [Fact]
    public void Write_MessageOnly_MatchesHandSum()
    {
        // 0x3101 + 0x6401 + 0x0064 + 0xc633 + 0x6464 = 0x1bffd, folded 0xbffe, complemented 0x4001.
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, [Vip]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Datagrams.Group, buffer, VrrpChecksumMode.MessageOnly);

        Assert.Equal("3101640100644001c6336464", Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_UnicastDestination_InPseudoHeader()
    {
        // Pseudo-header c633 640b c633 640c 0070 000c, checksum 0xeb05 from a Python sum.
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, [Vip]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Peer, buffer);

        Assert.Equal("310164010064eb05c6336464", Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Read_MessageOnlyMode_AcceptsMessageOnly()
    {
        var result = VrrpPacket.Read(Hex.Bytes("3101640100644001c6336464"), Ip(Datagrams.Group), MessageOnlyContext);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void Read_MessageOnlyFromPeer_NamesPeerMode()
    {
        var result = VrrpPacket.Read(Hex.Bytes("3101640100644001c6336464"), Ip(Datagrams.Group), PseudoHeaderContext);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Equal(VrrpChecksumMode.MessageOnly, result.PeerChecksumMode);
        Assert.Contains("MessageOnly", result.Detail);
    }

    [Fact]
    public void Read_PseudoHeaderFromPeer_NamesPeerMode()
    {
        var result = VrrpPacket.Read(Hex.Bytes("3101640100643533c6336464"), Ip(Datagrams.Group), MessageOnlyContext);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Equal(VrrpChecksumMode.PseudoHeader, result.PeerChecksumMode);
    }

    [Fact]
    public void Read_CorruptChecksum_NoPeerMode()
    {
        var result = VrrpPacket.Read(Hex.Bytes("3101640100641234c6336464"), Ip(Datagrams.Group), PseudoHeaderContext);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Null(result.PeerChecksumMode);
    }

    [Fact]
    public void Read_UnicastAdvert_UsesRealDestination()
    {
        var message = Hex.Bytes("310164010064eb05c6336464");

        var toPeer = VrrpPacket.Read(message, Ip(Peer), PseudoHeaderContext);
        var toGroup = VrrpPacket.Read(message, Ip(Datagrams.Group), PseudoHeaderContext);

        Assert.Equal(VrrpReadOutcome.Accepted, toPeer.Outcome);
        Assert.Equal(VrrpRejectReason.BadChecksum, toGroup.Reason);
    }

    [Fact]
    public void Read_UnknownUnicastPeer_Rejected()
    {
        var context = PseudoHeaderContext with { UnicastPeers = new HashSet<IPAddress> { IPAddress.Parse("198.51.100.13") } };

        var result = VrrpPacket.Read(Hex.Bytes("310164010064eb05c6336464"), Ip(Peer), context);

        Assert.Equal(VrrpRejectReason.UnknownUnicastPeer, result.Reason);
        Assert.Contains("198.51.100.11", result.Detail);
    }

    [Fact]
    public void Read_ConfiguredUnicastPeer_Accepted()
    {
        var context = PseudoHeaderContext with { UnicastPeers = new HashSet<IPAddress> { Source } };

        var result = VrrpPacket.Read(Hex.Bytes("310164010064eb05c6336464"), Ip(Peer), context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void ComputeVrrpMessageOnly_IgnoresChecksumField()
    {
        var zeroed = Hex.Bytes("3101640100640000c6336464");
        var filled = Hex.Bytes("3101640100644001c6336464");

        Assert.Equal(InternetChecksum.ComputeVrrpMessageOnly(zeroed), InternetChecksum.ComputeVrrpMessageOnly(filled));
        Assert.Equal(0x4001, BinaryPrimitives.ReadUInt16BigEndian(filled.AsSpan(6)));
    }

    private static ReceivedIpInfo Ip(IPAddress destination) => new(Source, destination, 255, 112);
}
