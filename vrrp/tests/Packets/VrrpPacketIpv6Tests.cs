using System.Net;
using System.Net.Sockets;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

public sealed class VrrpPacketIpv6Tests
{
    private static readonly IPAddress Source = IPAddress.Parse("fe80::11");
    private static readonly IPAddress LinkLocalVip = IPAddress.Parse("fe80::100");
    private static readonly IPAddress GlobalVip = IPAddress.Parse("2001:db8::100");

    private static readonly VrrpReadContext Context = new(VrrpVersion.V3, 1, address => address.Equals(IPAddress.Parse("fe80::12")))
    {
        AddressFamily = AddressFamily.InterNetworkV6,
    };

    // Built field by field from RFC 9568 §5.1 and §5.2: 0x31, VRID 1, priority 100, count 2, 100 cs, checksum, then
    // fe80::100 and 2001:db8::100 in 16 bytes each. The checksum 0x3e1f was computed apart from InternetChecksum, by
    // a Python one's complement sum over the RFC 8200 §8.1 pseudo-header from fe80::11 to ff02::12 with next header 112.
    private const string HandVector = "3101640200643e1ffe80000000000000000000000000010020010db8000000000000000000000100";

    private static VrrpAdvertisement HandAdvert() => new(VrrpVersion.V3, 1, 100, 100, [LinkLocalVip, GlobalVip]);

    private static byte[] HandMessage() => Convert.FromHexString(HandVector);

    [Fact]
    public void Write_HandVector_MatchesBytes()
    {
        var buffer = new byte[VrrpPacket.MaxMessageLength];

        var length = VrrpPacket.Write(HandAdvert(), Source, Ipv6Datagrams.Group, buffer);

        Assert.Equal(40, length);
        Assert.Equal(HandVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_MessageOnlyMode_StillUsesPseudoHeader()
    {
        var buffer = new byte[VrrpPacket.MaxMessageLength];

        var length = VrrpPacket.Write(HandAdvert(), Source, Ipv6Datagrams.Group, buffer, VrrpChecksumMode.MessageOnly);

        Assert.Equal(HandVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_Version2OverIpv6_Throws()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 1, 100, 100, [LinkLocalVip]);

        var error = Assert.Throws<NotSupportedException>(() => VrrpPacket.Write(advertisement, Source, Ipv6Datagrams.Group, new byte[VrrpPacket.MaxMessageLength]));

        Assert.Contains("IPv4 only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_MixedFamilies_Throws()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, [LinkLocalVip, IPAddress.Parse("198.51.100.100")]);

        Assert.Throws<ArgumentException>(() => VrrpPacket.Write(advertisement, Source, Ipv6Datagrams.Group, new byte[VrrpPacket.MaxMessageLength]));
    }

    [Fact]
    public void Write_255Addresses_FitsMaxLength()
    {
        var addresses = Enumerable.Range(1, 255).Select(i => IPAddress.Parse($"2001:db8::{i:x}")).ToArray();
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, addresses);
        var buffer = new byte[VrrpPacket.MaxMessageLength];

        var length = VrrpPacket.Write(advertisement, Source, Ipv6Datagrams.Group, buffer);
        var result = VrrpPacket.ReadIpv6Datagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, buffer.AsSpan(0, length)), Context);

        Assert.Equal(VrrpPacket.MaxIpv6MessageLength, length);
        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal(addresses, result.Advertisement!.Addresses);
    }

    [Fact]
    public void Read_HandVector_Accepted()
    {
        var datagram = Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, HandMessage());

        var result = VrrpPacket.ReadDatagram(datagram, Context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal(Source, result.Ip.Source);
        Assert.Equal(Ipv6Datagrams.Group, result.Ip.Destination);
        Assert.Equal(100, result.Advertisement!.Priority);
        Assert.Equal(100, result.Advertisement.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([LinkLocalVip, GlobalVip], result.Advertisement.Addresses);
    }

    [Fact]
    public void Read_ContextChecksumModeIgnored_Accepted()
    {
        var context = Context with { ChecksumMode = VrrpChecksumMode.MessageOnly };

        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, HandMessage()), context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
    }

    [Theory]
    [InlineData(254)]
    [InlineData(64)]
    [InlineData(1)]
    public void Read_HopLimitNot255_Rejected(byte hopLimit)
    {
        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, hopLimit, HandMessage()), Context);

        Assert.Equal(VrrpReadOutcome.Rejected, result.Outcome);
        Assert.Equal(VrrpRejectReason.TtlNot255, result.Reason);
        Assert.Contains($"hop limit {hopLimit}", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OtherSource_BadChecksum()
    {
        // The same bytes from another sender fail, which proves that the sum covers the pseudo-header's source.
        var datagram = Ipv6Datagrams.Wrap(IPAddress.Parse("fe80::13"), Ipv6Datagrams.Group, 255, HandMessage());

        var result = VrrpPacket.ReadDatagram(datagram, Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Null(result.PeerChecksumMode);
    }

    [Fact]
    public void Read_OtherDestination_BadChecksum()
    {
        var datagram = Ipv6Datagrams.Wrap(Source, IPAddress.Parse("fe80::12"), 255, HandMessage());

        var result = VrrpPacket.ReadDatagram(datagram, Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
    }

    [Fact]
    public void Read_MessageOnlyChecksum_Rejected()
    {
        var message = HandMessage();
        var messageOnly = InternetChecksum.ComputeVrrpMessageOnly(message);
        message[6] = (byte)(messageOnly >> 8);
        message[7] = (byte)messageOnly;

        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, message), Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Null(result.PeerChecksumMode);
    }

    [Fact]
    public void Read_Ipv4SizedAddresses_LengthMismatch()
    {
        // Count 2 over IPv6 needs 8 + 32 bytes; 8 + 8 is the IPv4 size.
        var message = HandMessage()[..16];

        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, message), Context);

        Assert.Equal(VrrpRejectReason.LengthMismatch, result.Reason);
    }

    [Fact]
    public void Read_Version2Message_BadVersion()
    {
        var message = HandMessage();
        message[0] = 0x21;

        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, message), Context);

        Assert.Equal(VrrpRejectReason.BadVersion, result.Reason);
    }

    [Fact]
    public void Read_OtherNextHeader_NotVrrpProtocol()
    {
        var result = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, HandMessage(), nextHeader: 58), Context);

        Assert.Equal(VrrpRejectReason.NotVrrpProtocol, result.Reason);
    }

    [Fact]
    public void Read_Ipv4Datagram_MalformedIpHeader()
    {
        // Four addresses make the IPv4 datagram longer than an IPv6 header, so that the version check decides.
        var addresses = Enumerable.Range(100, 4).Select(i => IPAddress.Parse($"198.51.100.{i}")).ToArray();
        var result = VrrpPacket.ReadDatagram(Datagrams.Advert(IPAddress.Parse("198.51.100.11"), 1, 100, 100, addresses), Context);

        Assert.Equal(VrrpRejectReason.MalformedIpHeader, result.Reason);
        Assert.Contains("expected 6", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PayloadLengthMismatch_MalformedIpHeader()
    {
        var datagram = Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, 255, HandMessage());
        datagram[5]++;

        var result = VrrpPacket.ReadDatagram(datagram, Context);

        Assert.Equal(VrrpRejectReason.MalformedIpHeader, result.Reason);
    }

    [Fact]
    public void Read_OwnLinkLocalSource_OwnAdvert()
    {
        var own = IPAddress.Parse("fe80::12");
        var datagram = Ipv6Datagrams.Advert(own, 1, 100, LinkLocalVip);

        var result = VrrpPacket.ReadDatagram(datagram, Context);

        Assert.Equal(VrrpReadOutcome.OwnAdvert, result.Outcome);
    }

    [Fact]
    public void Read_UnicastPeerLinkLocal_Accepted()
    {
        var context = Context with { UnicastPeers = new HashSet<IPAddress> { Source } };

        var fromPeer = VrrpPacket.ReadDatagram(Ipv6Datagrams.Advert(Source, 1, 100, LinkLocalVip), context);
        var fromStranger = VrrpPacket.ReadDatagram(Ipv6Datagrams.Advert(IPAddress.Parse("fe80::99"), 1, 100, LinkLocalVip), context);

        Assert.Equal(VrrpReadOutcome.Accepted, fromPeer.Outcome);
        Assert.Equal(VrrpRejectReason.UnknownUnicastPeer, fromStranger.Reason);
    }

    [Fact]
    public void Read_RandomBytes_NeverThrow()
    {
        var random = new Random(20261205);
        for (var i = 0; i < 20_000; i++)
        {
            var payload = new byte[random.Next(0, 120)];
            random.NextBytes(payload);
            if (payload.Length > 0 && random.Next(2) == 0)
            {
                payload[0] = 0x31;
            }

            var datagram = Ipv6Datagrams.Wrap(Source, Ipv6Datagrams.Group, (byte)(random.Next(2) == 0 ? 255 : random.Next(256)), payload);
            if (random.Next(8) == 0)
            {
                datagram = datagram[..random.Next(datagram.Length)];
            }

            var result = VrrpPacket.ReadDatagram(datagram, Context);

            Assert.True(Enum.IsDefined(result.Outcome));
        }
    }

    [Fact]
    public void Ipv6Checksum_WholeSumIsZero()
    {
        // RFC 1071: with a correct checksum in place, the sum over the pseudo-header and the message is zero.
        var message = HandMessage();
        var pseudoHeaderAndMessage = new byte[InternetChecksum.Ipv6PseudoHeaderLength + message.Length];
        Source.TryWriteBytes(pseudoHeaderAndMessage.AsSpan(0, 16), out _);
        Ipv6Datagrams.Group.TryWriteBytes(pseudoHeaderAndMessage.AsSpan(16, 16), out _);
        pseudoHeaderAndMessage[35] = (byte)message.Length;
        pseudoHeaderAndMessage[39] = 112;
        message.CopyTo(pseudoHeaderAndMessage.AsSpan(InternetChecksum.Ipv6PseudoHeaderLength));

        Assert.Equal(0, InternetChecksum.Compute(pseudoHeaderAndMessage));
        Assert.Equal(0x3e1f, InternetChecksum.ComputeVrrpIpv6(Source, Ipv6Datagrams.Group, message));
    }
}
