using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.StateMachine;

/// <summary>The planned hand-over and maintenance mode of <see cref="VirtualRouter"/>.</summary>
public sealed class VirtualRouterControlTests
{
    private static readonly IPAddress Primary = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.11");

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();

    private VirtualRouter CreateRouter(byte priority = 150, bool preempt = true)
    {
        var settings = new VirtualRouterSettings(1, priority, 100, preempt, Primary);
        return new VirtualRouter(settings, _actions, _time, _logs.CreateLogger("test"), new VrrpCounters());
    }

    private VirtualRouter CreateMaster(byte priority = 150)
    {
        var router = CreateRouter(priority);
        router.Start();
        _time.Advance(Cs(VirtualRouter.ComputeMasterDownInterval(priority, 100)));
        Assert.Equal(VrrpState.Master, router.State);
        _actions.Clear();
        return router;
    }

    private VirtualRouter CreateBackup(byte priority = 100)
    {
        var router = CreateRouter(priority);
        router.Start();
        router.OnAdvertisement(Peer, 150, 100);
        return router;
    }

    private void HearPeerEverySecond(VirtualRouter router, byte priority, int seconds)
    {
        for (var second = 0; second < seconds; second++)
        {
            _time.Advance(Cs(100));
            router.OnAdvertisement(Peer, priority, 100);
        }
    }

    private static TimeSpan Cs(int centiseconds) => TimeSpan.FromMilliseconds(centiseconds * 10);

    [Fact]
    public void HandOver_SendsPriorityZeroAndKeepsAddresses()
    {
        var router = CreateMaster();

        var handOver = router.HandOverAsync("switchover requested");
        _time.Advance(Cs(300));

        Assert.False(handOver.IsCompleted);
        Assert.Equal(VrrpState.Master, router.State);
        Assert.True(router.HandingOver);
        // One priority-0 advert and no regular ones, which would reset the backups' Master_Down_Timer.
        Assert.Equal(["send 0"], _actions.Actions);
    }

    [Fact]
    public async Task HandOver_NewMasterAdvert_MovesToBackup()
    {
        var router = CreateMaster();
        VrrpStateChange? change = null;
        router.StateChanged += c => change = c;

        var handOver = router.HandOverAsync("switchover requested");
        _time.Advance(Cs(60));
        router.OnAdvertisement(Peer, 100, 100);

        Assert.Equal(VrrpHandOverResult.Completed, await handOver);
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.False(router.HandingOver);
        Assert.Equal(["send 0", "release after hand-over"], _actions.Actions);
        Assert.Equal("switchover requested: 198.51.100.11 took over as master with priority 100", change!.Reason);
        Assert.Equal(Peer, router.MasterHeard!.Address);
    }

    [Fact]
    public async Task HandOver_NoNewMaster_StaysMaster()
    {
        var router = CreateMaster();

        var handOver = router.HandOverAsync("switchover requested");
        // Master_Down_Interval for priority 150: 3 x 100 + (256 - 150) x 100 / 256 = 341 cs.
        _time.Advance(Cs(340));
        Assert.False(handOver.IsCompleted);
        _time.Advance(Cs(1));

        Assert.Equal(VrrpHandOverResult.NoBackupTookOver, await handOver);
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 0", "send 150", "announce"], _actions.Actions);

        // The Adver_Timer runs again.
        _time.Advance(Cs(100));
        Assert.Equal(2, _actions.SentCount(150));
    }

    [Fact]
    public async Task HandOver_OnBackup_ReturnsNotMaster()
    {
        var router = CreateBackup();

        Assert.Equal(VrrpHandOverResult.NotMaster, await router.HandOverAsync("switchover requested"));
        Assert.Empty(_actions.Actions);
    }

    [Fact]
    public async Task HandOver_BeforeStart_ReturnsStopped()
    {
        var router = CreateRouter();

        Assert.Equal(VrrpHandOverResult.Stopped, await router.HandOverAsync("switchover requested"));
    }

    [Fact]
    public async Task HandOver_SecondCall_JoinsFirst()
    {
        var router = CreateMaster();

        var first = router.HandOverAsync("switchover requested");
        var second = router.HandOverAsync("switchover requested");
        router.OnAdvertisement(Peer, 100, 100);

        Assert.Equal(VrrpHandOverResult.Completed, await first);
        Assert.Equal(VrrpHandOverResult.Completed, await second);
        Assert.Equal(1, _actions.SentCount(0));
    }

    [Fact]
    public async Task HandOver_Shutdown_ReturnsStopped()
    {
        var router = CreateMaster();

        var handOver = router.HandOverAsync("switchover requested");
        router.Shutdown();

        Assert.Equal(VrrpHandOverResult.Stopped, await handOver);
        Assert.Equal(VrrpState.Initialize, router.State);
    }

    [Fact]
    public void HandOver_PriorityZero_NotReplied()
    {
        var router = CreateMaster();

        router.HandOverAsync("switchover requested");
        router.OnAdvertisement(Peer, 0, 100);

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal(["send 0"], _actions.Actions);
    }

    [Fact]
    public async Task HandOver_NewMasterNotPreempted()
    {
        var router = CreateMaster(priority: 150);

        var handOver = router.HandOverAsync("switchover requested");
        router.OnAdvertisement(Peer, 100, 100);
        Assert.Equal(VrrpHandOverResult.Completed, await handOver);

        HearPeerEverySecond(router, priority: 100, seconds: 10);

        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public async Task HandOver_NewMasterFails_TakesOverAgain()
    {
        var router = CreateMaster(priority: 150);
        var handOver = router.HandOverAsync("switchover requested");
        router.OnAdvertisement(Peer, 100, 100);
        Assert.Equal(VrrpHandOverResult.Completed, await handOver);

        _time.Advance(Cs(341));

        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public async Task Maintenance_Backup_NeverTakesOver()
    {
        var router = CreateBackup();

        Assert.Equal(VrrpHandOverResult.Completed, await router.EnterMaintenanceAsync("maintenance requested"));
        _time.Advance(Cs(1000));

        Assert.True(router.InMaintenance);
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(_actions.Actions);
        Assert.Contains(_logs.Entries, e => e.EventId.Name == "TakeoverSkippedInMaintenance");
    }

    [Fact]
    public async Task Maintenance_Backup_IgnoresPriorityZero()
    {
        var router = CreateBackup();
        await router.EnterMaintenanceAsync("maintenance requested");

        router.OnAdvertisement(Peer, 0, 100);
        _time.Advance(Cs(100));

        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public async Task Resume_AfterMasterDown_TakesOver()
    {
        var router = CreateBackup();
        await router.EnterMaintenanceAsync("maintenance requested");
        _time.Advance(Cs(1000));

        Assert.True(router.Resume("maintenance ended"));
        Assert.False(router.InMaintenance);
        _time.Advance(Cs(359));
        Assert.Equal(VrrpState.Backup, router.State);
        _time.Advance(Cs(1));

        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public async Task Resume_WithMasterHeard_StaysBackup()
    {
        var router = CreateBackup();
        await router.EnterMaintenanceAsync("maintenance requested");

        Assert.True(router.Resume("maintenance ended"));
        HearPeerEverySecond(router, priority: 150, seconds: 10);

        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public void Resume_NotInMaintenance_ReturnsFalse()
    {
        var router = CreateBackup();

        Assert.False(router.Resume("maintenance ended"));
    }

    [Fact]
    public async Task Maintenance_OnMaster_HandsOverFirst()
    {
        var router = CreateMaster();
        var changes = new List<VrrpMaintenanceChange>();
        router.MaintenanceChanged += changes.Add;

        var entering = router.EnterMaintenanceAsync("maintenance requested");
        Assert.False(router.InMaintenance);
        router.OnAdvertisement(Peer, 100, 100);

        Assert.Equal(VrrpHandOverResult.Completed, await entering);
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.True(router.InMaintenance);
        var change = Assert.Single(changes);
        Assert.True(change.Maintenance);
        Assert.Equal("maintenance requested", change.Reason);
    }

    [Fact]
    public async Task Maintenance_OnMasterWithoutBackup_StaysOut()
    {
        var router = CreateMaster();

        var entering = router.EnterMaintenanceAsync("maintenance requested");
        _time.Advance(Cs(341));

        Assert.Equal(VrrpHandOverResult.NoBackupTookOver, await entering);
        Assert.Equal(VrrpState.Master, router.State);
        Assert.False(router.InMaintenance);
    }

    [Fact]
    public async Task Maintenance_OwnerStartsAsBackup()
    {
        var router = CreateRouter(priority: 255);

        await router.EnterMaintenanceAsync("maintenance requested");
        router.Start();
        _time.Advance(Cs(1000));

        Assert.Equal(VrrpState.Backup, router.State);
    }
}
