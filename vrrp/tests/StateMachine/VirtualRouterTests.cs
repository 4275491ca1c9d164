using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.StateMachine;

public sealed class VirtualRouterTests
{
    private static readonly IPAddress Primary = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress LowerPeer = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress HigherPeer = IPAddress.Parse("198.51.100.13");

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly VrrpCounters _counters = new();

    // One advert from LowerPeer per second at a 100 cs interval, each after the clock moved one second.
    private void HearAdvertEverySecond(VirtualRouter router, byte priority, int seconds)
    {
        for (var second = 0; second < seconds; second++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(LowerPeer, priority, 100);
        }
    }

    private VirtualRouter CreateRouter(byte priority = 100, int interval = 100, bool preempt = true)
    {
        var settings = new VirtualRouterSettings(1, priority, interval, preempt, Primary);
        return new VirtualRouter(settings, _actions, _time, _logs.CreateLogger("test"), _counters);
    }

    private static TimeSpan Cs(int centiseconds) => TimeSpan.FromMilliseconds(centiseconds * 10);

    /// <summary>Starts a priority-100 router and lets its Master_Down_Timer (360 cs) run out.</summary>
    private VirtualRouter CreateMaster(byte priority = 100)
    {
        var router = CreateRouter(priority);
        router.Start();
        _time.Advance(Cs(VirtualRouter.ComputeMasterDownInterval(priority, 100)));
        Assert.Equal(VrrpState.Master, router.State);
        _actions.Clear();
        return router;
    }

    [Theory]
    [InlineData(100, 100, 60)]
    [InlineData(150, 100, 41)]
    [InlineData(254, 100, 0)]
    [InlineData(1, 100, 99)]
    [InlineData(100, 4095, 2495)]
    public void ComputeSkewTime_MatchesRfcFormula(int priority, int interval, int expected)
    {
        Assert.Equal(expected, VirtualRouter.ComputeSkewTime(priority, interval));
    }

    [Theory]
    [InlineData(100, 100, 360)]
    [InlineData(150, 100, 341)]
    [InlineData(100, 200, 721)]
    [InlineData(255, 100, 300)]
    public void ComputeMasterDownInterval_IsThreeIntervalsPlusSkew(int priority, int interval, int expected)
    {
        Assert.Equal(expected, VirtualRouter.ComputeMasterDownInterval(priority, interval));
    }

    [Fact]
    public void Start_NonOwner_EntersBackupSilently()
    {
        var router = CreateRouter();

        router.Start();

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void Start_Priority255_EntersMasterAndClaims()
    {
        var router = CreateRouter(priority: 255);

        router.Start();

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 255", "claim"], _actions.Actions);
    }

    [Fact]
    public void Backup_TakesOverAtMasterDownInterval()
    {
        var router = CreateRouter();
        router.Start();

        _time.Advance(Cs(360) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "claim"], _actions.Actions);
    }

    [Fact]
    public void Master_AdverTimer_SendsEveryInterval()
    {
        CreateMaster();

        _time.Advance(Cs(99));
        Assert.Empty(_actions.Actions);
        _time.Advance(Cs(1));
        Assert.Equal(["send 100"], _actions.Actions);

        // FakeTimeProvider re-arms a timer from the time it advanced to, so step one interval at a time.
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(Cs(100));
        }

        Assert.Equal(4, _actions.SentCount(100));
    }

    [Fact]
    public void Backup_HigherPriorityAdverts_KeepItBackup()
    {
        var router = CreateRouter();
        router.Start();

        HearAdvertEverySecond(router, priority: 150, seconds: 10);

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void Backup_EqualPriorityLowerAddress_StaysBackup()
    {
        // RFC 9568 §6.4.2: a backup accepts an advert of equal priority whatever the sender's address; only an active
        // router compares primary addresses (§6.4.3).
        var router = CreateRouter();
        router.Start();
        _time.Advance(Cs(300));

        router.OnAdvertisement(LowerPeer, 100, 100);
        _time.Advance(Cs(359));

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void Backup_AdvertRestartsMasterDownTimer()
    {
        var router = CreateRouter();
        router.Start();
        _time.Advance(Cs(300));
        router.OnAdvertisement(LowerPeer, 150, 100);

        _time.Advance(Cs(359));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Backup_PriorityZero_TakesOverAfterSkew()
    {
        var router = CreateRouter();
        router.Start();
        _time.Advance(Cs(100));
        router.OnAdvertisement(LowerPeer, 150, 100);

        router.OnAdvertisement(LowerPeer, 0, 100);

        // Skew_Time = (256 - 100) * 100 / 256 = 60 cs.
        _time.Advance(Cs(60) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "claim"], _actions.Actions);
    }

    [Fact]
    public void Backup_PriorityZeroFromOtherSender_TakesOverAfterSkew()
    {
        // keepalived and FRR vrrpd accept priority 0 from any sender, as RFC 9568 §6.4.2 does not name one.
        var router = CreateRouter();
        router.Start();
        router.OnAdvertisement(LowerPeer, 150, 100);

        router.OnAdvertisement(HigherPeer, 0, 100);

        _time.Advance(Cs(60));
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Contains(_logs.Entries, e => e.Message.StartsWith("VRID 1 received priority 0 from 198.51.100.13;", StringComparison.Ordinal));
    }

    [Fact]
    public void Backup_PriorityZeroFlood_LogsOncePerMinute()
    {
        var router = CreateRouter();
        router.Start();
        router.OnAdvertisement(LowerPeer, 150, 100);

        for (var i = 0; i < 2000; i++)
        {
            router.OnAdvertisement(HigherPeer, 0, 100);
        }

        Assert.Single(_logs.Entries, e => e.EventId.Name == "PriorityZeroReceived");
        Assert.DoesNotContain(_logs.Entries, e => e.EventId.Name == "PriorityZeroRepeated");

        // The master keeps advertising, so this router stays backup while a minute passes.
        for (var second = 0; second < 60; second++)
        {
            router.OnAdvertisement(LowerPeer, 150, 100);
            _time.Advance(Cs(100));
        }

        router.OnAdvertisement(HigherPeer, 0, 100);

        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PriorityZeroRepeated");
        Assert.Equal("VRID 1 received 1999 more adverts with priority 0 since the last report; each one restarted the Master_Down_Timer at Skew_Time", repeated.Message);
        Assert.Equal(2, _logs.Entries.Count(e => e.EventId.Name == "PriorityZeroReceived"));
    }

    [Fact]
    public void Backup_PreemptOn_IgnoresLowerPriorityMaster()
    {
        var router = CreateRouter(priority: 150);
        router.Start();

        // The lower-priority master keeps advertising, but this backup preempts it at Master_Down_Interval (341 cs).
        for (var tick = 1; tick <= 3; tick++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(LowerPeer, 100, 100);
        }

        _time.Advance(Cs(40));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Backup_Preempts_LogsPreemptionReason()
    {
        var router = CreateRouter(priority: 150);
        VrrpStateChange? change = null;
        router.StateChanged += c => change = c;
        router.Start();

        for (var tick = 1; tick <= 3; tick++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(LowerPeer, 100, 100);
        }

        _time.Advance(Cs(41));

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal("preempted lower-priority master 198.51.100.11 (priority 100, ours 150) after Master_Down_Interval", change!.Reason);
    }

    [Fact]
    public void Master_AfterTakeover_ClearsMasterHeard()
    {
        var router = CreateRouter();
        router.Start();
        router.OnAdvertisement(LowerPeer, 150, 100);
        Assert.Equal(LowerPeer, router.MasterHeard!.Address);

        _time.Advance(Cs(360));

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Null(router.MasterHeard);
    }

    [Fact]
    public void Backup_PriorityZeroFlood_FlushReportsRest()
    {
        var router = CreateRouter();
        router.Start();
        for (var i = 0; i < 5; i++)
        {
            router.OnAdvertisement(LowerPeer, 0, 100);
        }

        router.FlushSuppressedLogs();
        router.FlushSuppressedLogs();

        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PriorityZeroRepeated");
        Assert.StartsWith("VRID 1 received 4 more adverts with priority 0", repeated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backup_PreemptOff_AcceptsLowerPriorityMaster()
    {
        var router = CreateRouter(priority: 150, preempt: false);
        router.Start();

        HearAdvertEverySecond(router, priority: 100, seconds: 10);

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void Backup_AdoptsMasterAdverInterval()
    {
        var router = CreateRouter();
        router.Start();

        router.OnAdvertisement(LowerPeer, 150, 200);

        Assert.Equal(200, router.MasterAdverIntervalCentiseconds);

        // Master_Down_Interval = 3 * 200 + (156 * 200 / 256 = 121) = 721 cs, not the 360 cs of our own interval.
        _time.Advance(Cs(720));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Backup_AdvertIntervalChange_IsLogged()
    {
        var router = CreateRouter();
        router.Start();

        router.OnAdvertisement(LowerPeer, 150, 200);

        Assert.Contains(_logs.Entries, e => e.EventId.Id == 7 && e.Message.Contains("200 cs", StringComparison.Ordinal));
    }

    [Fact]
    public void Master_HigherPriorityAdvert_StepsDownAndReleases()
    {
        var router = CreateMaster();

        router.OnAdvertisement(LowerPeer, 150, 100);

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(["release"], _actions.Actions);

        // The Adver_Timer is cancelled: no advert goes out while the new master keeps advertising.
        HearAdvertEverySecond(router, priority: 150, seconds: 5);

        Assert.Equal(["release"], _actions.Actions);
    }

    [Fact]
    public void Master_SteppedDown_AdoptsNewMasterInterval()
    {
        var router = CreateMaster();

        router.OnAdvertisement(LowerPeer, 150, 300);

        Assert.Equal(300, router.MasterAdverIntervalCentiseconds);
        _time.Advance(Cs(900 + (156 * 300 / 256) - 1));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Master_EqualPriorityHigherAddress_StepsDown()
    {
        var router = CreateMaster();

        router.OnAdvertisement(HigherPeer, 100, 100);

        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public void Master_EqualPriorityLowerAddress_StaysAndAnswers()
    {
        var router = CreateMaster();

        router.OnAdvertisement(LowerPeer, 100, 100);

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "announce"], _actions.Actions);
    }

    [Fact]
    public void Master_ResumedAfterBackupTakeover_AnnouncesAddresses()
    {
        // This master was frozen long enough for the priority-50 backup to take over and send gratuitous ARP. On
        // resume, the backup's adverts are the first thing this master hears, and hosts still use the backup's MAC.
        var router = CreateMaster();
        _time.Advance(Cs(500));
        _actions.Clear();

        router.OnAdvertisement(LowerPeer, 50, 100);
        router.OnAdvertisement(LowerPeer, 50, 100);

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "announce"], _actions.Actions);
    }

    [Fact]
    public void Master_LowerPriorityAdvert_AnswersAtOnce()
    {
        var router = CreateMaster();
        _time.Advance(Cs(30));

        router.OnAdvertisement(HigherPeer, 50, 100);

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "announce"], _actions.Actions);

        // The periodic advert still comes at its usual time.
        _time.Advance(Cs(70));
        Assert.Equal(2, _actions.SentCount(100));
    }

    [Fact]
    public void Master_LowerPriorityFlood_OneReplyPerInterval()
    {
        var router = CreateMaster();
        _time.Advance(Cs(10));

        for (var i = 0; i < 2000; i++)
        {
            router.OnAdvertisement(LowerPeer, 50, 100);
        }

        Assert.Equal(1, _actions.SentCount(100));
        Assert.Equal(1, _actions.Actions.Count(a => a == "announce"));
        Assert.Equal(1999, _counters.RepliesSuppressed);

        // The periodic advert is not a reply and still comes at its usual time.
        _time.Advance(Cs(90));
        Assert.Equal(2, _actions.SentCount(100));

        // One interval after the last reply, the next lower-priority advert gets a reply again.
        _time.Advance(Cs(10));
        router.OnAdvertisement(LowerPeer, 50, 100);
        Assert.Equal(3, _actions.SentCount(100));
        Assert.Equal(1999, _counters.RepliesSuppressed);
    }

    [Fact]
    public void Master_PriorityZeroFlood_OneReplyPerInterval()
    {
        var router = CreateMaster();
        _time.Advance(Cs(50));

        for (var i = 0; i < 2000; i++)
        {
            router.OnAdvertisement(LowerPeer, 0, 100);
        }

        Assert.Equal(1, _actions.SentCount(100));
        Assert.DoesNotContain("announce", _actions.Actions);
        Assert.Equal(1999, _counters.RepliesSuppressed);

        // The Adver_Timer restarted with the one reply and sends the next periodic advert a full interval later.
        _time.Advance(Cs(99));
        Assert.Equal(1, _actions.SentCount(100));
        _time.Advance(Cs(1));
        Assert.Equal(2, _actions.SentCount(100));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Master_PriorityZero_ResetsAdverTimer()
    {
        var router = CreateMaster();
        _time.Advance(Cs(50));

        router.OnAdvertisement(LowerPeer, 0, 100);

        Assert.Equal(["send 100"], _actions.Actions);
        _time.Advance(Cs(99));
        Assert.Equal(1, _actions.SentCount(100));
        _time.Advance(Cs(1));
        Assert.Equal(2, _actions.SentCount(100));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Shutdown_AsMaster_SendsPriorityZeroAndReleases()
    {
        var router = CreateMaster();

        router.Shutdown();

        Assert.Equal(VrrpState.Initialize, router.State);
        Assert.Equal(["send 0", "release"], _actions.Actions);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["send 0", "release"], _actions.Actions);
    }

    [Fact]
    public void Shutdown_AsBackup_CancelsMasterDownTimer()
    {
        var router = CreateRouter();
        router.Start();

        router.Shutdown();
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(VrrpState.Initialize, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void Initialize_Advert_Ignored()
    {
        var router = CreateRouter();

        router.OnAdvertisement(LowerPeer, 150, 100);

        Assert.Equal(VrrpState.Initialize, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void ChangeState_RaisesEventAndLogsTransition()
    {
        var router = CreateRouter();
        var changes = new List<VrrpStateChange>();
        router.StateChanged += changes.Add;
        router.Start();

        _time.Advance(Cs(360));

        Assert.Equal(2, changes.Count);
        Assert.Equal(new VrrpStateChange(1, VrrpState.Initialize, VrrpState.Backup, "startup", changes[0].At), changes[0]);
        Assert.Equal(VrrpState.Backup, changes[1].From);
        Assert.Equal(VrrpState.Master, changes[1].To);
        Assert.Contains("Master_Down_Interval (360 cs)", changes[1].Reason, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow(), changes[1].At);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("VRID 1 Backup -> Master: ", StringComparison.Ordinal));
    }

    [Fact]
    public void ChangeState_Impossible_LogsError()
    {
        var router = CreateRouter();
        router.Start();

        router.ChangeState(VrrpState.Backup, "test");

        Assert.Equal(VrrpState.Backup, router.State);
        var error = Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("Backup -> Backup", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangeState_HandlerThrows_TransitionCompletes()
    {
        var router = CreateRouter();
        router.StateChanged += _ => throw new InvalidOperationException("subscriber bug");

        router.Start();

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException);
    }

    [Fact]
    public void Start_Twice_LogsErrorWithoutThrowing()
    {
        var router = CreateRouter();
        router.Start();

        router.Start();

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error);
    }

    [Theory]
    [InlineData("198.51.100.12", "198.51.100.11", 1)]
    [InlineData("198.51.100.11", "198.51.100.12", -1)]
    [InlineData("203.0.113.1", "198.51.100.255", 1)]
    [InlineData("198.51.100.200", "198.51.100.20", 1)]
    [InlineData("198.51.100.7", "198.51.100.7", 0)]
    public void CompareAddresses_UnsignedNetworkOrder(string left, string right, int sign)
    {
        Assert.Equal(sign, Math.Sign(VirtualRouter.CompareAddresses(IPAddress.Parse(left), IPAddress.Parse(right))));
    }
}
