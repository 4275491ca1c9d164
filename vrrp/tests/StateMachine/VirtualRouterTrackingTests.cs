using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.StateMachine;

/// <summary>Tracked conditions, fault, preempt delay and the later gratuitous ARP bursts, on a fake clock.</summary>
public sealed class VirtualRouterTrackingTests
{
    private static readonly IPAddress Primary = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.11");

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();

    private VirtualRouter CreateRouter(
        byte priority = 100,
        bool preempt = true,
        TimeSpan preemptDelay = default,
        TimeSpan garpDelay = default,
        TimeSpan garpRefresh = default)
    {
        var settings = new VirtualRouterSettings(1, priority, 100, preempt, Primary, PreemptDelay: preemptDelay, GratuitousArpMasterDelay: garpDelay, GratuitousArpRefresh: garpRefresh);
        return new VirtualRouter(settings, _actions, _time, _logs.CreateLogger("test"), new VrrpCounters());
    }

    private VirtualRouter CreateMaster(byte priority = 100, TimeSpan garpDelay = default, TimeSpan garpRefresh = default)
    {
        var router = CreateRouter(priority, garpDelay: garpDelay, garpRefresh: garpRefresh);
        router.Start();
        _time.Advance(Cs(VirtualRouter.ComputeMasterDownInterval(priority, 100)));
        Assert.Equal(VrrpState.Master, router.State);
        _actions.Clear();
        return router;
    }

    private void HearAdvertEverySecond(VirtualRouter router, byte priority, int seconds)
    {
        for (var second = 0; second < seconds; second++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(Peer, priority, 100);
        }
    }

    private static TimeSpan Cs(int centiseconds) => TimeSpan.FromMilliseconds(centiseconds * 10);

    [Fact]
    public void Weight_LowersNextAdvert()
    {
        var router = CreateMaster();

        router.SetTracking(30, faultCause: null);

        Assert.Equal(70, router.EffectivePriority);
        Assert.Empty(_actions.Actions);
        _time.Advance(Cs(100));
        Assert.Equal(["send 70"], _actions.Actions);
    }

    [Fact]
    public void Weight_NeverBelowOne()
    {
        var router = CreateMaster();

        router.SetTracking(250, faultCause: null);
        _time.Advance(Cs(100));

        Assert.Equal(1, router.EffectivePriority);
        Assert.Equal(["send 1"], _actions.Actions);
    }

    [Fact]
    public void Weight_RecoveryRestoresPriority()
    {
        var router = CreateMaster();
        router.SetTracking(30, faultCause: null);

        router.SetTracking(0, faultCause: null);
        _time.Advance(Cs(100));

        Assert.Equal(100, router.EffectivePriority);
        Assert.Equal(["send 100"], _actions.Actions);
    }

    [Fact]
    public void Weight_OwnerKeeps255()
    {
        var router = CreateRouter(priority: 255);
        router.Start();
        _actions.Clear();

        router.SetTracking(50, faultCause: null);
        _time.Advance(Cs(100));

        Assert.Equal(255, router.EffectivePriority);
        Assert.Equal(["send 255"], _actions.Actions);
    }

    [Fact]
    public void LoweredMaster_YieldsToHigherAdvert()
    {
        var router = CreateMaster();
        router.SetTracking(30, faultCause: null);

        // 90 is below the configured 100 but above the effective 70 (RFC 9568 §6.4.3).
        router.OnAdvertisement(Peer, 90, 100);

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(["release"], _actions.Actions);
    }

    [Fact]
    public void LoweredBackup_DoesNotPreemptUntilRecovery()
    {
        var router = CreateRouter();
        router.Start();
        router.SetTracking(20, faultCause: null);

        // A master at 90 is above our effective 80, so its adverts keep us Backup (RFC 9568 §6.4.2).
        HearAdvertEverySecond(router, priority: 90, seconds: 10);
        Assert.Equal(VrrpState.Backup, router.State);

        router.SetTracking(0, faultCause: null);
        HearAdvertEverySecond(router, priority: 90, seconds: 3);
        Assert.Equal(VrrpState.Backup, router.State);

        // Preempt_Mode: the lower-priority adverts no longer restart the timer, which runs out 360 cs after the last restart.
        _time.Advance(Cs(100));
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 100", "claim"], _actions.Actions);
    }

    [Fact]
    public void LoweredBackup_SkewUsesEffectivePriority()
    {
        var router = CreateRouter();
        router.SetTracking(50, faultCause: null);
        router.Start();

        // Master_Down_Interval at priority 50: 300 + (256 - 50) * 100 / 256 = 380 cs, not 360.
        _time.Advance(Cs(379));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 50", "claim"], _actions.Actions);
    }

    [Fact]
    public void WeightedFailure_DuringMasterDown_TakesOverLowered()
    {
        var router = CreateRouter();
        router.Start();
        _time.Advance(Cs(200));

        router.SetTracking(40, faultCause: null);
        _time.Advance(Cs(160));

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 60", "claim"], _actions.Actions);
    }

    [Fact]
    public void Fault_DuringMasterDownInterval_StaysBackup()
    {
        var router = CreateRouter();
        router.Start();
        _time.Advance(Cs(200));

        router.SetTracking(0, "link:eth1");
        _time.Advance(Cs(600));

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.True(router.InFault);
        Assert.Empty(_actions.Actions);
        Assert.Contains(_logs.Entries, e => e.EventId.Name == "TakeoverSkippedInFault");
    }

    [Fact]
    public void Fault_Recovery_TakesOverAfterMasterDownInterval()
    {
        var router = CreateRouter();
        router.Start();
        router.SetTracking(0, "link:eth1");
        _time.Advance(Cs(400));

        router.SetTracking(0, faultCause: null);

        Assert.False(router.InFault);
        _time.Advance(Cs(359));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Fault_AsMaster_SendsZeroAndReleases()
    {
        var router = CreateMaster();
        var faults = new List<bool>();
        router.FaultChanged += faults.Add;

        router.SetTracking(0, "file:/run/tandem/down");

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(["send 0", "release"], _actions.Actions);
        Assert.Equal([true], faults);

        // No adverts from a faulted backup, and no takeover when Master_Down_Interval passes.
        _time.Advance(Cs(1000));
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(["send 0", "release"], _actions.Actions);
    }

    [Fact]
    public void Fault_OwnerStartsAsBackup()
    {
        var router = CreateRouter(priority: 255);
        router.SetTracking(0, "link:eth1");

        router.Start();

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public void PreemptDelay_AcceptsLowerMasterUntilExpiry()
    {
        var router = CreateRouter(preemptDelay: TimeSpan.FromSeconds(10));
        router.Start();

        // Without the delay this router would preempt at 3.6 s. The advert at 9 s still restarts the Master_Down_Timer.
        HearAdvertEverySecond(router, priority: 90, seconds: 9);
        Assert.Equal(VrrpState.Backup, router.State);

        // From 10 s on the lower-priority adverts no longer restart it, so it runs out at 9 s + 360 cs.
        HearAdvertEverySecond(router, priority: 90, seconds: 3);
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(60));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void PreemptDelay_DoesNotDelaySilentMasterTakeover()
    {
        var router = CreateRouter(preemptDelay: TimeSpan.FromSeconds(300));
        router.Start();

        _time.Advance(Cs(360));

        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void PreemptDelay_ZeroPreemptsAtOnce()
    {
        var router = CreateRouter();
        router.Start();
        router.OnAdvertisement(Peer, 90, 100);

        HearAdvertEverySecond(router, priority: 90, seconds: 3);
        _time.Advance(Cs(60));

        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void GratuitousArp_SecondBurstAfterDelay()
    {
        CreateMaster(garpDelay: TimeSpan.FromSeconds(5));

        // Step one interval at a time so the Adver_Timer re-arms as it would on a real clock.
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(Cs(100));
        }

        Assert.DoesNotContain("announce", _actions.Actions);
        _time.Advance(Cs(100));
        Assert.Single(_actions.Actions, a => a == "announce");

        for (var i = 0; i < 20; i++)
        {
            _time.Advance(Cs(100));
        }

        Assert.Single(_actions.Actions, a => a == "announce");
    }

    [Fact]
    public void GratuitousArp_RefreshRepeatsWhileMaster()
    {
        var router = CreateMaster(garpRefresh: TimeSpan.FromSeconds(10));

        for (var i = 0; i < 30; i++)
        {
            _time.Advance(Cs(100));
        }

        Assert.Equal(3, _actions.Actions.Count(a => a == "announce"));

        router.OnAdvertisement(Peer, 150, 100);
        Assert.Equal(VrrpState.Backup, router.State);
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(Peer, 150, 100);
        }

        Assert.Equal(3, _actions.Actions.Count(a => a == "announce"));
    }
}
