using System.Buffers.Binary;
using System.Net;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

public sealed class VrrpPacketTests
{
    private static readonly IPAddress Source = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Vip = IPAddress.Parse("198.51.100.100");

    private static readonly VrrpReadContext Context = new(VrrpVersion.V3, 1, address => address.Equals(IPAddress.Parse("198.51.100.12")));

    // VRID 1, priority 100, one address 198.51.100.100, 100 cs, from 198.51.100.11 to 224.0.0.18.
    // The checksum 0x3533 is summed by hand in InternetChecksumTests.
    private const string HandVector = "3101640100643533c6336464";

    private static ReceivedIpInfo Ip(byte ttl = 255, byte protocol = 112) => new(Source, Datagrams.Group, ttl, protocol);

    [Fact]
    public void Write_HandVector_MatchesBytes()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, [Vip]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Datagrams.Group, buffer);

        Assert.Equal(12, length);
        Assert.Equal(HandVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_TwoAddressesPriorityZero_MatchesBytes()
    {
        // Built field by field from RFC 9568 §5.1: 0x31, VRID 7, priority 0, count 2, 250 cs, checksum, addresses.
        // The checksum 0x6df8 was computed apart from InternetChecksum, by a Python one's complement sum over the
        // pseudo-header from 198.51.100.12.
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 7, 0, 250, [Vip, IPAddress.Parse("198.51.100.101")]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, IPAddress.Parse("198.51.100.12"), Datagrams.Group, buffer);

        Assert.Equal("3107000200fa6df8c6336464c6336465", Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_MaximumInterval_UsesTwelveBits()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 255, 255, 4095, [IPAddress.Parse("203.0.113.1")]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, IPAddress.Parse("203.0.113.9"), Datagrams.Group, buffer);

        Assert.Equal("31ffff010fff6664cb007101", Hex.Of(buffer.AsSpan(0, length)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    public void Write_IntervalOutOfRange_Throws(int interval)
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, (ushort)interval, [Vip]);

        Assert.Throws<ArgumentException>(() => VrrpPacket.Write(advertisement, Source, Datagrams.Group, new byte[64]));
    }

    [Fact]
    public void Write_Ipv6AddressesIpv4Source_Throws()
    {
        // The IPv6 pseudo-header cannot be built from an IPv4 source and group.
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 1, 100, 100, [IPAddress.Parse("2001:db8::1")]);

        Assert.Throws<ArgumentException>(() => VrrpPacket.Write(advertisement, Source, Datagrams.Group, new byte[64]));
    }

    [Fact]
    public void Read_HandVector_Accepted()
    {
        var result = VrrpPacket.Read(Hex.Bytes(HandVector), Ip(), Context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        var advertisement = Assert.IsType<VrrpAdvertisement>(result.Advertisement);
        Assert.Equal(VrrpVersion.V3, advertisement.Version);
        Assert.Equal(1, advertisement.VirtualRouterId);
        Assert.Equal(100, advertisement.Priority);
        Assert.Equal(100, advertisement.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([Vip], advertisement.Addresses);
    }

    [Fact]
    public void Read_ReservedBitsSet_Ignored()
    {
        var message = Hex.Bytes(HandVector);
        message[4] |= 0xF0;
        FixChecksum(message, Source);

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal(100, result.Advertisement!.MaxAdvertisementIntervalCentiseconds);
    }

    [Fact]
    public void Read_OwnSource_ClassifiedAsOwnAdvert()
    {
        var own = IPAddress.Parse("198.51.100.12");
        var message = Hex.Bytes(HandVector);
        FixChecksum(message, own);

        var result = VrrpPacket.Read(message, new ReceivedIpInfo(own, Datagrams.Group, 255, 112), Context);

        Assert.Equal(VrrpReadOutcome.OwnAdvert, result.Outcome);
    }

    public static TheoryData<string, byte, VrrpRejectReason> InvalidMessages() => new()
    {
        // Message hex (its checksum is recomputed when it has the 8 header bytes), TTL, expected reason.
        { HandVector, 64, VrrpRejectReason.TtlNot255 },
        { HandVector, 254, VrrpRejectReason.TtlNot255 },
        { "31016401006435", 255, VrrpRejectReason.TooShort },
        { "", 255, VrrpRejectReason.TooShort },
        { "2101640100640000c6336464", 255, VrrpRejectReason.BadVersion },
        { "4101640100640000c6336464", 255, VrrpRejectReason.BadVersion },
        { "3201640100640000c6336464", 255, VrrpRejectReason.BadType },
        { "3101640000640000", 255, VrrpRejectReason.NoAddresses },
        { "3101640200640000c6336464", 255, VrrpRejectReason.LengthMismatch },
        { "3101640100640000c633646400000000", 255, VrrpRejectReason.LengthMismatch },
        { "3101640100000000c6336464", 255, VrrpRejectReason.ZeroInterval },
    };

    [Theory]
    [MemberData(nameof(InvalidMessages))]
    public void Read_InvalidMessage_RejectedWithReason(string hex, byte ttl, VrrpRejectReason reason)
    {
        var message = Hex.Bytes(hex);
        if (message.Length >= 8)
        {
            FixChecksum(message, Source);
        }

        var result = VrrpPacket.Read(message, Ip(ttl), Context);

        Assert.Equal(VrrpReadOutcome.Rejected, result.Outcome);
        Assert.Equal(reason, result.Reason);
        Assert.False(string.IsNullOrEmpty(result.Detail));
        Assert.Null(result.Advertisement);
    }

    [Fact]
    public void Read_CorruptedChecksum_RejectedAsBadChecksum()
    {
        var message = Hex.Bytes(HandVector);
        message[7] ^= 0x01;

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Contains("0x3533", result.Detail);
    }

    [Fact]
    public void Read_MessageOnlyChecksum_Rejected()
    {
        var message = Hex.Bytes(HandVector);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), 0);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), InternetChecksum.Compute(message));

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
    }

    [Fact]
    public void Read_WrongProtocol_RejectedFirst()
    {
        var result = VrrpPacket.Read(Hex.Bytes(HandVector), Ip(ttl: 64, protocol: 17), Context);

        Assert.Equal(VrrpRejectReason.NotVrrpProtocol, result.Reason);
    }

    [Fact]
    public void Read_TtlCheckedBeforeVersion()
    {
        var message = Hex.Bytes("2101640100640000c6336464");

        var result = VrrpPacket.Read(message, Ip(ttl: 1), Context);

        Assert.Equal(VrrpRejectReason.TtlNot255, result.Reason);
    }

    [Fact]
    public void Read_VersionCheckedBeforeChecksum()
    {
        var message = Hex.Bytes("2101640100641234c6336464");

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpRejectReason.BadVersion, result.Reason);
    }

    [Fact]
    public void Read_ChecksumCheckedBeforeVrid()
    {
        var message = Hex.Bytes("3109640100641234c6336464");

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
    }

    [Fact]
    public void Read_VridCheckedBeforeInterval()
    {
        // RFC 9568 §7.1 checks the VRID before the interval, so another router's bad interval is not our fault.
        var message = Hex.Bytes("3109640100000000c6336464");
        FixChecksum(message, Source);

        var result = VrrpPacket.Read(message, Ip(), Context);

        Assert.Equal(VrrpReadOutcome.OtherVrid, result.Outcome);
    }

    [Fact]
    public void ReadIpv4Datagram_ValidAdvert_Accepted()
    {
        var datagram = Datagrams.Ipv4(Source, Datagrams.Group, 255, Hex.Bytes(HandVector));

        var result = VrrpPacket.ReadIpv4Datagram(datagram, Context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal(Source, result.Ip.Source);
        Assert.Equal(Datagrams.Group, result.Ip.Destination);
        Assert.Equal(255, result.Ip.Ttl);
    }

    [Fact]
    public void ReadIpv4Datagram_HeaderWithOptions_FindsPayload()
    {
        var plain = Datagrams.Ipv4(Source, Datagrams.Group, 255, Hex.Bytes(HandVector));
        var datagram = new byte[plain.Length + 4];
        plain.AsSpan(0, 20).CopyTo(datagram);
        datagram[0] = 0x46;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)datagram.Length);
        datagram[20] = 0x94; // Router Alert option, 4 bytes.
        datagram[21] = 0x04;
        plain.AsSpan(20).CopyTo(datagram.AsSpan(24));

        var result = VrrpPacket.ReadIpv4Datagram(datagram, Context);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void ReadIpv4Datagram_TtlFromHeader_Checked()
    {
        var datagram = Datagrams.Ipv4(Source, Datagrams.Group, 64, Hex.Bytes(HandVector));

        var result = VrrpPacket.ReadIpv4Datagram(datagram, Context);

        Assert.Equal(VrrpRejectReason.TtlNot255, result.Reason);
    }

    [Fact]
    public void ReadIpv4Datagram_MalformedHeaders_Rejected()
    {
        var valid = Datagrams.Ipv4(Source, Datagrams.Group, 255, Hex.Bytes(HandVector));

        var truncated = valid.AsSpan(0, 19).ToArray();
        var ipv6 = (byte[])valid.Clone();
        ipv6[0] = 0x65;
        var shortIhl = (byte[])valid.Clone();
        shortIhl[0] = 0x44;
        var longIhl = (byte[])valid.Clone();
        longIhl[0] = 0x4F;
        var lengthTooLarge = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(lengthTooLarge.AsSpan(2), (ushort)(valid.Length + 1));
        var lengthTooSmall = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(lengthTooSmall.AsSpan(2), (ushort)(valid.Length - 1));

        foreach (var datagram in new[] { truncated, ipv6, shortIhl, longIhl, lengthTooLarge, lengthTooSmall })
        {
            var result = VrrpPacket.ReadIpv4Datagram(datagram, Context);

            Assert.Equal(VrrpRejectReason.MalformedIpHeader, result.Reason);
        }
    }

    [Fact]
    public void ReadIpv4Datagram_RandomBytes_NeverThrows()
    {
        var random = new Random(9568);
        var valid = Datagrams.Ipv4(Source, Datagrams.Group, 255, Hex.Bytes(HandVector));

        for (var i = 0; i < 20_000; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[random.Next(0, 80)];
                random.NextBytes(datagram);
            }
            else
            {
                // Flip a few bytes of a valid datagram so that parsing goes deeper before it fails.
                datagram = (byte[])valid.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
                }
            }

            var result = VrrpPacket.ReadIpv4Datagram(datagram, Context);

            Assert.True(Enum.IsDefined(result.Outcome));
        }
    }

    private static void FixChecksum(byte[] message, IPAddress source)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), InternetChecksum.ComputeVrrpIpv4(source, Datagrams.Group, message));
    }
}
