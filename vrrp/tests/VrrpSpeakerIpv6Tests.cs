using System.Net;
using System.Net.Sockets;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

/// <summary>The speaker as an IPv6 virtual router against the fake platform.</summary>
public sealed class VrrpSpeakerIpv6Tests
{
    private static readonly IPAddress PeerB = IPAddress.Parse("fe80::11");
    private static readonly IPAddress PeerC = IPAddress.Parse("fe80::13");
    private static readonly IPAddress LinkLocalVip = IPAddress.Parse("fe80::1:33");
    private static readonly IPAddress GlobalVip = IPAddress.Parse("2001:db8::100");

    private readonly SpeakerTestBed _bed = new();

    private static VrrpOptions Options(params string[] peers) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = 100,
        UnicastPeers = [.. peers],
        VirtualAddresses = ["fe80::1:33/64", "2001:db8::100/64"],
    };

    private static VrrpReadContext PeerContext() => new(VrrpVersion.V3, 51, _ => false) { AddressFamily = AddressFamily.InterNetworkV6 };

    [Fact]
    public async Task Master_SendsIpv6AdvertToGroup()
    {
        await using var speaker = await _bed.StartMasterAsync(Options());

        var message = Assert.Single(_bed.Platform.Transport.Sent);
        var datagram = Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, Ipv6Datagrams.Group, 255, message);
        var result = VrrpPacket.ReadDatagram(datagram, PeerContext());

        Assert.Equal([Ipv6Datagrams.Group], _bed.Platform.Transport.Destinations);
        Assert.Equal(40, message.Length);
        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal([LinkLocalVip, GlobalVip], result.Advertisement!.Addresses);
    }

    [Fact]
    public async Task Master_ClaimsAndAnnouncesIpv6Addresses()
    {
        await using var speaker = await _bed.StartMasterAsync(Options());

        var announced = await _bed.Platform.ArpSender.FirstAnnouncement.WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Contains("add fe80::1:33/64", _bed.Platform.Events);
        Assert.Contains("add 2001:db8::100/64", _bed.Platform.Events);
        Assert.Equal([LinkLocalVip, GlobalVip], announced);
    }

    [Fact]
    public async Task Backup_StaysBackupForHigherPriority()
    {
        await using var speaker = _bed.CreateSpeaker(Options());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        for (var i = 0; i < 5; i++)
        {
            await _bed.DeliverAsync(Ipv6Datagrams.Advert(PeerB, 51, 200, LinkLocalVip, GlobalVip));
            _bed.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(VrrpState.Backup, speaker.State);
        Assert.Equal(5, speaker.Counters.AdvertisementsReceived);
        Assert.Equal(0, speaker.Counters.AddressListMismatches);
    }

    [Fact]
    public async Task HopLimit254_CountedNotAccepted()
    {
        await using var speaker = _bed.CreateSpeaker(Options());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 51, 200, 100, [LinkLocalVip, GlobalVip]);
        var message = new byte[VrrpPacket.GetLength(advertisement)];
        VrrpPacket.Write(advertisement, PeerB, Ipv6Datagrams.Group, message);

        await _bed.DeliverAsync(Ipv6Datagrams.Wrap(PeerB, Ipv6Datagrams.Group, 254, message));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.TtlNot255));
        Assert.Equal(0, speaker.Counters.AdvertisementsReceived);
    }

    [Fact]
    public async Task Unicast_SendsToEveryLinkLocalPeer()
    {
        await using var speaker = await _bed.StartMasterAsync(Options("fe80::11", "fe80::13"));

        var sent = _bed.Platform.Transport.Sent;
        var toB = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, PeerB, 255, sent[0]), PeerContext());
        var toC = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, PeerC, 255, sent[1]), PeerContext());

        Assert.Equal([PeerB, PeerC], _bed.Platform.Transport.Destinations);
        Assert.Equal(VrrpReadOutcome.Accepted, toB.Outcome);
        Assert.Equal(VrrpReadOutcome.Accepted, toC.Outcome);
    }

    [Fact]
    public async Task Unicast_RejectsStranger()
    {
        await using var speaker = _bed.CreateSpeaker(Options("fe80::11"));
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await _bed.DeliverAsync(Ipv6Datagrams.Advert(IPAddress.Parse("fe80::99"), 51, 200, LinkLocalVip, GlobalVip), Ipv6Datagrams.Advert(PeerB, 51, 200, LinkLocalVip, GlobalVip));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.UnknownUnicastPeer));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
    }
}
