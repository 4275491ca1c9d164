using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

public sealed class AdvertisementReceiverTests
{
    private static readonly IPAddress Local = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Vip = IPAddress.Parse("198.51.100.100");

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly VrrpCounters _counters = new();
    private readonly VirtualRouter _router;
    private readonly AdvertisementReceiver _receiver;

    public AdvertisementReceiverTests()
    {
        _router = new VirtualRouter(new VirtualRouterSettings(1, 100, 100, true, Local), _actions, _time, _logs.CreateLogger("router"));
        var context = new VrrpReadContext(VrrpVersion.V3, 1, address => address.Equals(Local));
        _receiver = new AdvertisementReceiver(context, _router, _counters, [Vip], _time, _logs.CreateLogger("packets"));
        _router.Start();
    }

    private static byte[] WithTtl(byte[] datagram, byte ttl)
    {
        var copy = (byte[])datagram.Clone();
        copy[8] = ttl;
        return copy;
    }

    [Fact]
    public void ValidAdvert_CountedAndResetsMasterDownTimer()
    {
        _time.Advance(TimeSpan.FromSeconds(3));

        var outcome = _receiver.OnDatagram(Datagrams.Advert(Peer, 1, 150));

        Assert.Equal(VrrpReadOutcome.Accepted, outcome);
        Assert.Equal(1, _counters.AdvertisementsReceived);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(VrrpState.Backup, _router.State);
    }

    [Fact]
    public void InvalidAdverts_DoNotDelayTakeover()
    {
        // Every packet below names our VRID and a higher priority, but fails one check, so none may reset the timer.
        var valid = Datagrams.Advert(Peer, 1, 200);
        var badChecksum = (byte[])valid.Clone();
        badChecksum[^5] ^= 0xFF;
        var badVersion = (byte[])valid.Clone();
        badVersion[20] = 0x21;
        var invalid = new[] { WithTtl(valid, 64), badChecksum, badVersion, valid.AsSpan(0, 25).ToArray() };

        for (var step = 0; step < 35; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            _receiver.OnDatagram(invalid[step % invalid.Length]);
        }

        // Master_Down_Interval is 360 cs from the start; 350 cs have passed.
        Assert.Equal(VrrpState.Backup, _router.State);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(VrrpState.Master, _router.State);
        Assert.Equal(35, _counters.Rejected);
        Assert.Equal(0, _counters.AdvertisementsReceived);
    }

    [Fact]
    public void Rejections_CountedPerReason()
    {
        var valid = Datagrams.Advert(Peer, 1, 150);

        _receiver.OnDatagram(WithTtl(valid, 64));
        _receiver.OnDatagram(WithTtl(valid, 1));
        _receiver.OnDatagram([0x45, 0x00]);

        Assert.Equal(2, _counters.GetRejected(VrrpRejectReason.TtlNot255));
        Assert.Equal(1, _counters.GetRejected(VrrpRejectReason.MalformedIpHeader));
        Assert.Equal(0, _counters.GetRejected(VrrpRejectReason.BadChecksum));
        Assert.Equal(3, _counters.Rejected);
        Assert.Equal(3, _counters.GetRejectedByReason().Values.Sum());
    }

    [Fact]
    public void Rejections_LoggedOncePerReasonPerInterval()
    {
        var badTtl = WithTtl(Datagrams.Advert(Peer, 1, 150), 64);

        for (var i = 0; i < 50; i++)
        {
            _receiver.OnDatagram(badTtl);
        }

        _receiver.OnDatagram([0x45]);

        var rejected = _logs.Entries.Where(e => e.EventId.Id == 20).ToList();
        Assert.Equal(2, rejected.Count);
        Assert.Equal(LogLevel.Warning, rejected[0].Level);
        Assert.Equal("VRID 1 discarded an invalid VRRP packet from 198.51.100.11: TtlNot255, TTL 64, expected 255", rejected[0].Message);
        Assert.Contains("MalformedIpHeader", rejected[1].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");

        // After the interval the next rejection is logged again, after a report of the 49 left out.
        _time.Advance(AdvertisementReceiver.LogInterval);
        _receiver.OnDatagram(badTtl);
        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Equal("VRID 1 discarded 49 more invalid VRRP packets for TtlNot255 since the last report; the speaker's counters have the totals", repeated.Message);
        Assert.Equal(3, _logs.Entries.Count(e => e.EventId.Id == 20));
    }

    [Fact]
    public void FlushSuppressedLogs_ReportsBurstOnce()
    {
        var badTtl = WithTtl(Datagrams.Advert(Peer, 1, 150), 64);
        for (var i = 0; i < 10; i++)
        {
            _receiver.OnDatagram(badTtl);
        }

        _receiver.FlushSuppressedLogs();
        _receiver.FlushSuppressedLogs();

        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Contains("9 more invalid VRRP packets for TtlNot255", repeated.Message, StringComparison.Ordinal);

        // The next report after the interval does not count the flushed packets again.
        _time.Advance(AdvertisementReceiver.LogInterval);
        _receiver.OnDatagram(badTtl);
        Assert.Single(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
    }

    [Fact]
    public void OtherVrid_CountedButNotRejected()
    {
        var outcome = _receiver.OnDatagram(Datagrams.Advert(Peer, 2, 150));

        Assert.Equal(VrrpReadOutcome.OtherVrid, outcome);
        Assert.Equal(1, _counters.OtherVridReceived);
        Assert.Equal(0, _counters.Rejected);
        Assert.Equal(0, _counters.AdvertisementsReceived);
    }

    [Fact]
    public void OtherVrid_DoesNotResetTimer()
    {
        for (var step = 0; step < 36; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            _receiver.OnDatagram(Datagrams.Advert(Peer, 2, 150));
        }

        Assert.Equal(VrrpState.Master, _router.State);
    }

    [Fact]
    public void OwnAdvert_CountedAndIgnored()
    {
        _router.Shutdown();

        var outcome = _receiver.OnDatagram(Datagrams.Advert(Local, 1, 100));

        Assert.Equal(VrrpReadOutcome.OwnAdvert, outcome);
        Assert.Equal(1, _counters.OwnAdvertsReceived);
        Assert.Equal(0, _counters.AdvertisementsReceived);
    }

    [Fact]
    public void AddressListMismatch_CountedAndStillProcessed()
    {
        _time.Advance(TimeSpan.FromSeconds(3));

        var outcome = _receiver.OnDatagram(Datagrams.Advert(Peer, 1, 150, 100, IPAddress.Parse("198.51.100.200")));

        Assert.Equal(VrrpReadOutcome.Accepted, outcome);
        Assert.Equal(1, _counters.AddressListMismatches);
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 23 && e.Message.Contains("198.51.100.200", StringComparison.Ordinal));
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(VrrpState.Backup, _router.State);
    }

    [Fact]
    public void PriorityZero_Counted()
    {
        _receiver.OnDatagram(Datagrams.Advert(Peer, 1, 0));

        Assert.Equal(1, _counters.PriorityZeroReceived);
        Assert.Equal(1, _counters.AdvertisementsReceived);
    }
}
