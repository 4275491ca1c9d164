using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

/// <summary>The speaker as an IPv6 virtual router against the fake platform.</summary>
public sealed class VrrpSpeakerIpv6Tests
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);
    private static readonly IPAddress PeerB = IPAddress.Parse("fe80::11");
    private static readonly IPAddress PeerC = IPAddress.Parse("fe80::13");
    private static readonly IPAddress LinkLocalVip = IPAddress.Parse("fe80::1:33");
    private static readonly IPAddress GlobalVip = IPAddress.Parse("2001:db8::100");

    private readonly FakePlatform _platform = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly FakeTimeProvider _time = new();
    private int _delivered;

    private static VrrpOptions Options(params string[] peers) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = 100,
        UnicastPeers = [.. peers],
        VirtualAddresses = ["fe80::1:33/64", "2001:db8::100/64"],
    };

    private static VrrpReadContext PeerContext() => new(VrrpVersion.V3, 51, _ => false) { AddressFamily = AddressFamily.InterNetworkV6 };

    private VrrpSpeaker CreateSpeaker(VrrpOptions options) => new(options, _logs, _time, _platform);

    private async Task<VrrpSpeaker> StartMasterAsync(VrrpOptions options)
    {
        var speaker = CreateSpeaker(options);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(VrrpState.Master, speaker.State);
        return speaker;
    }

    private async Task DeliverAsync(params byte[][] datagrams)
    {
        foreach (var datagram in datagrams)
        {
            _platform.Transport.Enqueue(datagram);
        }

        // The loop has handled every datagram once it calls ReceiveAsync for the next one.
        _delivered += datagrams.Length;
        await _platform.Transport.WaitForReceiveCallsAsync(_delivered + 1).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Master_SendsIpv6AdvertToGroup()
    {
        await using var speaker = await StartMasterAsync(Options());

        var message = Assert.Single(_platform.Transport.Sent);
        var datagram = Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, Ipv6Datagrams.Group, 255, message);
        var result = VrrpPacket.ReadDatagram(datagram, PeerContext());

        Assert.Equal([Ipv6Datagrams.Group], _platform.Transport.Destinations);
        Assert.Equal(40, message.Length);
        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        Assert.Equal([LinkLocalVip, GlobalVip], result.Advertisement!.Addresses);
    }

    [Fact]
    public async Task Master_ClaimsAndAnnouncesIpv6Addresses()
    {
        await using var speaker = await StartMasterAsync(Options());

        var announced = await _platform.ArpSender.FirstAnnouncement.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Contains("add fe80::1:33/64", _platform.Events);
        Assert.Contains("add 2001:db8::100/64", _platform.Events);
        Assert.Equal([LinkLocalVip, GlobalVip], announced);
    }

    [Fact]
    public async Task Backup_StaysBackupForHigherPriority()
    {
        await using var speaker = CreateSpeaker(Options());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        for (var i = 0; i < 5; i++)
        {
            await DeliverAsync(Ipv6Datagrams.Advert(PeerB, 51, 200, LinkLocalVip, GlobalVip));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(VrrpState.Backup, speaker.State);
        Assert.Equal(5, speaker.Counters.AdvertisementsReceived);
        Assert.Equal(0, speaker.Counters.AddressListMismatches);
    }

    [Fact]
    public async Task HopLimit254_CountedNotAccepted()
    {
        await using var speaker = CreateSpeaker(Options());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var advertisement = new VrrpAdvertisement(VrrpVersion.V3, 51, 200, 100, [LinkLocalVip, GlobalVip]);
        var message = new byte[VrrpPacket.GetLength(advertisement)];
        VrrpPacket.Write(advertisement, PeerB, Ipv6Datagrams.Group, message);

        await DeliverAsync(Ipv6Datagrams.Wrap(PeerB, Ipv6Datagrams.Group, 254, message));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.TtlNot255));
        Assert.Equal(0, speaker.Counters.AdvertisementsReceived);
    }

    [Fact]
    public async Task Unicast_SendsToEveryLinkLocalPeer()
    {
        await using var speaker = await StartMasterAsync(Options("fe80::11", "fe80::13"));

        var sent = _platform.Transport.Sent;
        var toB = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, PeerB, 255, sent[0]), PeerContext());
        var toC = VrrpPacket.ReadDatagram(Ipv6Datagrams.Wrap(FakePlatform.Ipv6PrimaryAddress, PeerC, 255, sent[1]), PeerContext());

        Assert.Equal([PeerB, PeerC], _platform.Transport.Destinations);
        Assert.Equal(VrrpReadOutcome.Accepted, toB.Outcome);
        Assert.Equal(VrrpReadOutcome.Accepted, toC.Outcome);
    }

    [Fact]
    public async Task Unicast_RejectsStranger()
    {
        await using var speaker = CreateSpeaker(Options("fe80::11"));
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await DeliverAsync(Ipv6Datagrams.Advert(IPAddress.Parse("fe80::99"), 51, 200, LinkLocalVip, GlobalVip), Ipv6Datagrams.Advert(PeerB, 51, 200, LinkLocalVip, GlobalVip));

        Assert.Equal(1, speaker.Counters.GetRejected(VrrpRejectReason.UnknownUnicastPeer));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
    }
}
