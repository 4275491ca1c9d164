using System.Buffers.Binary;
using System.Net;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

/// <summary>VRRPv2 adverts (RFC 3768 §5.3), with vectors built field by field from the RFC's layout.</summary>
public sealed class VrrpVersion2PacketTests
{
    private static readonly IPAddress Source = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Vip = IPAddress.Parse("198.51.100.100");

    // 0x21 (version 2, type 1), VRID 1, priority 100, count 1, Auth Type 0, Adver Int 1 s, checksum 0x5064,
    // 198.51.100.100, 8 zero bytes of Authentication Data. The checksum sums the message alone (RFC 3768 §5.3.8):
    // 0x2101 + 0x6401 + 0x0001 + 0xc633 + 0x6464 = 0x1af9a, folded 0xaf9b, complemented 0x5064.
    private const string NoAuthVector = "2101640100015064c63364640000000000000000";

    // The same advert with Auth Type 1 and the password "secret" zero-padded to 8 bytes; checksum by a Python
    // one's complement sum over these bytes.
    private const string PasswordVector = "2101640101011318c63364647365637265740000";

    private static readonly VrrpReadContext NoAuthContext = new(VrrpVersion.V2, 1, address => address.Equals(IPAddress.Parse("198.51.100.12")))
    {
        AdvertisementIntervalCentiseconds = 100,
    };

    private static readonly VrrpReadContext PasswordContext = NoAuthContext with
    {
        Authentication = VrrpAuthentication.FromPassword("secret"),
    };

    private static ReceivedIpInfo Ip(byte ttl = 255) => new(Source, Datagrams.Group, ttl, 112);

    [Fact]
    public void Write_NoAuth_MatchesRfcLayout()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 1, 100, 100, [Vip]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Datagrams.Group, buffer);

        Assert.Equal(20, length);
        Assert.Equal(NoAuthVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_Password_CarriesAuthData()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 1, 100, 100, [Vip]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Datagrams.Group, buffer, authentication: VrrpAuthentication.FromPassword("secret"));

        Assert.Equal(PasswordVector, Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_TwoAddressesThreeSeconds_MatchesBytes()
    {
        // VRID 7, priority 0, count 2, Adver Int 3 s; checksum 0x89c2 from a Python sum over the message.
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 7, 0, 300, [Vip, IPAddress.Parse("198.51.100.101")]);
        var buffer = new byte[64];

        var length = VrrpPacket.Write(advertisement, Source, Datagrams.Group, buffer);

        Assert.Equal("21070002000389c2c6336464c63364650000000000000000", Hex.Of(buffer.AsSpan(0, length)));
    }

    [Fact]
    public void Write_ChecksumIgnoresPseudoHeader()
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 1, 100, 100, [Vip]);
        var toGroup = new byte[64];
        var toPeer = new byte[64];

        VrrpPacket.Write(advertisement, Source, Datagrams.Group, toGroup);
        VrrpPacket.Write(advertisement, Source, IPAddress.Parse("198.51.100.12"), toPeer, VrrpChecksumMode.PseudoHeader);

        Assert.Equal(Hex.Of(toGroup.AsSpan(0, 20)), Hex.Of(toPeer.AsSpan(0, 20)));
    }

    [Theory]
    [InlineData(150)]
    [InlineData(0)]
    [InlineData(25600)]
    public void Write_IntervalNotWholeSeconds_Throws(int centiseconds)
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 1, 100, (ushort)centiseconds, [Vip]);

        Assert.Throws<ArgumentException>(() => VrrpPacket.Write(advertisement, Source, Datagrams.Group, new byte[64]));
    }

    [Fact]
    public void Read_NoAuthVector_Accepted()
    {
        var result = VrrpPacket.Read(Hex.Bytes(NoAuthVector), Ip(), NoAuthContext);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        var advertisement = Assert.IsType<VrrpAdvertisement>(result.Advertisement);
        Assert.Equal(VrrpVersion.V2, advertisement.Version);
        Assert.Equal(1, advertisement.VirtualRouterId);
        Assert.Equal(100, advertisement.Priority);
        Assert.Equal(100, advertisement.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal(VrrpAuthentication.TypeNone, advertisement.AuthenticationType);
        Assert.Equal([Vip], advertisement.Addresses);
    }

    [Fact]
    public void Read_NoAuth_IgnoresAuthData()
    {
        // RFC 3768 §5.3.10: with Auth Type 0 the receiver ignores the Authentication Data.
        var message = Hex.Bytes(NoAuthVector);
        message[^1] = 0x5A;
        FixChecksum(message);

        var result = VrrpPacket.Read(message, Ip(), NoAuthContext);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void Read_PasswordVector_Accepted()
    {
        var result = VrrpPacket.Read(Hex.Bytes(PasswordVector), Ip(), PasswordContext);

        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal(VrrpAuthentication.TypeSimpleText, result.Advertisement!.AuthenticationType);
    }

    [Fact]
    public void Read_WrongPassword_RejectedWithoutPassword()
    {
        var result = VrrpPacket.Read(Hex.Bytes(PasswordVector), Ip(), NoAuthContext with { Authentication = VrrpAuthentication.FromPassword("other") });

        Assert.Equal(VrrpRejectReason.AuthenticationFailed, result.Reason);
        Assert.DoesNotContain("secret", result.Detail);
        Assert.DoesNotContain("other", result.Detail);
    }

    [Fact]
    public void Read_PasswordWhereNoneExpected_AuthTypeMismatch()
    {
        var result = VrrpPacket.Read(Hex.Bytes(PasswordVector), Ip(), NoAuthContext);

        Assert.Equal(VrrpRejectReason.AuthTypeMismatch, result.Reason);
        Assert.DoesNotContain("secret", result.Detail);
    }

    [Fact]
    public void Read_MissingPassword_AuthTypeMismatch()
    {
        var result = VrrpPacket.Read(Hex.Bytes(NoAuthVector), Ip(), PasswordContext);

        Assert.Equal(VrrpRejectReason.AuthTypeMismatch, result.Reason);
    }

    [Fact]
    public void Read_OtherInterval_Discarded()
    {
        var message = Hex.Bytes(NoAuthVector);
        message[5] = 2;
        FixChecksum(message);

        var result = VrrpPacket.Read(message, Ip(), NoAuthContext);

        Assert.Equal(VrrpRejectReason.IntervalMismatch, result.Reason);
        Assert.Contains("2 s", result.Detail);
    }

    [Fact]
    public void Read_OtherVridWrongPassword_OtherVrid()
    {
        // RFC 3768 §7.1 checks the VRID before the Auth Type, so another router's password is not our fault.
        var message = Hex.Bytes(PasswordVector);
        message[1] = 9;
        FixChecksum(message);

        var result = VrrpPacket.Read(message, Ip(), NoAuthContext);

        Assert.Equal(VrrpReadOutcome.OtherVrid, result.Outcome);
    }

    [Fact]
    public void Read_PseudoHeaderChecksum_BadChecksum()
    {
        // A VRRPv3-style checksum in a VRRPv2 advert is wrong, and VRRPv2 offers no other form to suggest.
        var message = Hex.Bytes(NoAuthVector);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), InternetChecksum.ComputeVrrpIpv4(Source, Datagrams.Group, message));

        var result = VrrpPacket.Read(message, Ip(), NoAuthContext);

        Assert.Equal(VrrpRejectReason.BadChecksum, result.Reason);
        Assert.Null(result.PeerChecksumMode);
    }

    public static TheoryData<string, byte, VrrpRejectReason> InvalidMessages() => new()
    {
        // Message hex (its checksum is recomputed when it has the 8 header bytes), TTL, expected reason.
        { NoAuthVector, 64, VrrpRejectReason.TtlNot255 },
        { "3101640100640000c6336464", 255, VrrpRejectReason.BadVersion },
        { "2201640100010000c63364640000000000000000", 255, VrrpRejectReason.BadType },
        { "2101640000010000", 255, VrrpRejectReason.NoAddresses },

        // Without the Authentication Data the message is incomplete (RFC 3768 §7.1).
        { "2101640100010000c6336464", 255, VrrpRejectReason.LengthMismatch },
        { "2101640100010000c6336464000000000000000000", 255, VrrpRejectReason.LengthMismatch },
        { "2101640100000000c63364640000000000000000", 255, VrrpRejectReason.IntervalMismatch },
    };

    [Theory]
    [MemberData(nameof(InvalidMessages))]
    public void Read_InvalidMessage_RejectedWithReason(string hex, byte ttl, VrrpRejectReason reason)
    {
        var message = Hex.Bytes(hex);
        if (message.Length >= 8)
        {
            FixChecksum(message);
        }

        var result = VrrpPacket.Read(message, Ip(ttl), NoAuthContext);

        Assert.Equal(VrrpReadOutcome.Rejected, result.Outcome);
        Assert.Equal(reason, result.Reason);
        Assert.False(string.IsNullOrEmpty(result.Detail));
    }

    [Fact]
    public void ReadIpv4Datagram_RandomBytes_NeverThrows()
    {
        var random = new Random(3768);
        var valid = Datagrams.Ipv4(Source, Datagrams.Group, 255, Hex.Bytes(PasswordVector));

        for (var i = 0; i < 20_000; i++)
        {
            var datagram = (byte[])valid.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
            }

            var result = VrrpPacket.ReadIpv4Datagram(datagram, PasswordContext);

            Assert.True(Enum.IsDefined(result.Outcome));
        }
    }

    private static void FixChecksum(byte[] message)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), InternetChecksum.ComputeVrrpMessageOnly(message));
    }
}
