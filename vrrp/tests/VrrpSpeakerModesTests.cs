using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

/// <summary>The speaker with VRRPv2, unicast peers and the MessageOnly checksum, against the fake platform.</summary>
public sealed class VrrpSpeakerModesTests
{
    private static readonly IPAddress PeerB = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress PeerC = IPAddress.Parse("198.51.100.13");
    private static readonly IPAddress Stranger = IPAddress.Parse("198.51.100.99");
    private static readonly IPAddress Vip = IPAddress.Parse("198.51.100.100");

    private readonly SpeakerTestBed _bed = new();

    private static VrrpOptions Options(int version = 3, string password = "", string checksumMode = "PseudoHeader", params string[] peers) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = 100,
        Version = version,
        AuthenticationPassword = password,
        ChecksumMode = checksumMode,
        UnicastPeers = [.. peers],
        VirtualAddresses = ["198.51.100.100/24"],
    };

    private static byte[] Version2Datagram(IPAddress source, byte priority, ushort intervalCentiseconds, string password)
    {
        var advertisement = new VrrpAdvertisement(VrrpVersion.V2, 51, priority, intervalCentiseconds, [Vip]);
        var message = new byte[64];
        var length = VrrpPacket.Write(advertisement, source, Datagrams.Group, message, authentication: VrrpAuthentication.FromPassword(password));
        return Datagrams.Ipv4(source, Datagrams.Group, 255, message.AsSpan(0, length));
    }

    [Fact]
    public async Task Version2Master_SendsRfc3768Advert()
    {
        await using var speaker = await _bed.StartMasterAsync(Options(version: 2, password: "secret"));

        var message = Assert.Single(_bed.Platform.Transport.Sent);

        Assert.Equal(20, message.Length);
        Assert.Equal(0x21, message[0]);
        Assert.Equal(VrrpAuthentication.TypeSimpleText, message[4]);
        Assert.Equal(1, message[5]);
        Assert.Equal("secret\0\0"u8.ToArray(), message[^8..]);
        Assert.Equal(0, InternetChecksum.Compute(message));
        Assert.Equal([Datagrams.Group], _bed.Platform.Transport.Destinations);
    }

    [Fact]
    public async Task Version2_CountsEachRejectionReason()
    {
        await using var speaker = _bed.CreateSpeaker(Options(version: 2, password: "secret"));
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await _bed.DeliverAsync(
            Version2Datagram(PeerB, 150, 100, "wrong"),
            Version2Datagram(PeerB, 150, 100, ""),
            Version2Datagram(PeerB, 150, 200, "secret"),
            Version2Datagram(PeerB, 150, 100, "secret"));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.AuthenticationFailed));
        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.AuthTypeMismatch));
        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.IntervalMismatch));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
        Assert.DoesNotContain(_bed.Logs.Entries, e => e.Message.Contains("secret", StringComparison.Ordinal));
        Assert.DoesNotContain(_bed.Logs.Entries, e => e.Message.Contains("wrong", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unicast_SendsToEveryPeerWithOwnChecksum()
    {
        await using var speaker = await _bed.StartMasterAsync(Options(peers: ["198.51.100.11", "198.51.100.13"]));

        Assert.Equal([PeerB, PeerC], _bed.Platform.Transport.Destinations);
        var sent = _bed.Platform.Transport.Sent;
        var context = new VrrpReadContext(VrrpVersion.V3, 51, _ => false);
        Assert.Equal(VrrpReadOutcome.Accepted, VrrpPacket.Read(sent[0], new ReceivedIpInfo(FakePlatform.PrimaryAddress, PeerB, 255, 112), context).Outcome);
        Assert.Equal(VrrpReadOutcome.Accepted, VrrpPacket.Read(sent[1], new ReceivedIpInfo(FakePlatform.PrimaryAddress, PeerC, 255, 112), context).Outcome);
        Assert.NotEqual(sent[0][6..8], sent[1][6..8]);
        Assert.Equal(2, speaker.Counters.AdvertisementsSent);
    }

    [Fact]
    public async Task Unicast_RejectsStranger()
    {
        await using var speaker = _bed.CreateSpeaker(Options(peers: ["198.51.100.11"]));
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await _bed.DeliverAsync(Datagrams.Advert(Stranger, 51, 200), Datagrams.Advert(PeerB, 51, 200));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.UnknownUnicastPeer));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
    }

    [Fact]
    public async Task MessageOnlyPeer_CountedAndLoggedOnce()
    {
        await using var speaker = _bed.CreateSpeaker(Options());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 51, 200, 100, [Vip]);
        var message = new byte[12];
        VrrpPacket.Write(advertisement, PeerB, Datagrams.Group, message, VrrpChecksumMode.MessageOnly);
        var datagram = Datagrams.Ipv4(PeerB, Datagrams.Group, 255, message);

        await _bed.DeliverAsync(datagram, datagram, datagram);

        Assert.Equal(3, speaker.Counters.GetRejected(VrrpRejectReason.BadChecksum));
        Assert.Equal(0, speaker.Counters.AdvertisementsReceived);
        var warning = Assert.Single(_bed.Logs.Entries, e => e.EventId.Id == VrrpEventIds.PeerUsesOtherChecksumMode);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Set Vrrp:ChecksumMode to MessageOnly", warning.Message, StringComparison.Ordinal);
        Assert.Contains("198.51.100.11", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageOnlyMode_AcceptsMessageOnlyPeer()
    {
        await using var speaker = _bed.CreateSpeaker(Options(checksumMode: "MessageOnly"));
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 51, 200, 100, [Vip]);
        var message = new byte[12];
        VrrpPacket.Write(advertisement, PeerB, Datagrams.Group, message, VrrpChecksumMode.MessageOnly);

        await _bed.DeliverAsync(Datagrams.Ipv4(PeerB, Datagrams.Group, 255, message));

        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
        Assert.Equal(0, speaker.Counters.Rejected);
    }
}
