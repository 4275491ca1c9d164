using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Configuration;
using Tandem.Node.Vrrp;
using Tandem.Vrrp;

namespace Tandem.Node.Tests.Vrrp;

public sealed class VrrpSyncGroupCoordinatorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly FakeMember _web;
    private readonly FakeMember _api;
    private readonly FakeMember _cache;
    private readonly VrrpSyncGroupCoordinator _coordinator;

    public VrrpSyncGroupCoordinatorTests()
    {
        _web = new FakeMember("web");
        _api = new FakeMember("api");
        _cache = new FakeMember("cache");
        _coordinator = new VrrpSyncGroupCoordinator(
            [new VrrpSyncGroupSettings("frontend", ["web", "api"])],
            [_web, _api, _cache],
            _time,
            NullLogger.Instance,
            runInline: true);
    }

    private VrrpStateChange Change(VrrpState from, VrrpState to, string reason = "no advert for Master_Down_Interval (309 cs)") =>
        new(51, from, to, reason, _time.GetUtcNow());

    [Fact]
    public void BecameMaster_SilentBackupTakesOver()
    {
        _api.State = VrrpState.Backup;
        _api.MasterHeardAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(3));

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        var reason = Assert.Single(_api.TakeOvers);
        Assert.Equal("sync group frontend: router web became master", reason);
        Assert.Equal(VrrpState.Master, _api.State);
    }

    [Fact]
    public void BecameMaster_NeverHeardMasterTakesOver()
    {
        _api.State = VrrpState.Backup;

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        Assert.Single(_api.TakeOvers);
    }

    [Theory]
    [InlineData(500, false)]
    [InlineData(2000, false)]
    [InlineData(2001, true)]
    public void BecameMaster_FollowsAfterTwoMissedAdverts(int silenceMilliseconds, bool followed)
    {
        _api.State = VrrpState.Backup;
        _api.MasterHeardAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMilliseconds(silenceMilliseconds));

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        Assert.Equal(followed, _api.TakeOvers.Count == 1);
        Assert.Equal(followed ? VrrpState.Master : VrrpState.Backup, _api.State);
    }

    [Fact]
    public void BecameMaster_MaintenanceMemberStaysBackup()
    {
        _api.State = VrrpState.Backup;
        _api.InMaintenance = true;

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        Assert.Empty(_api.TakeOvers);
        Assert.Equal(VrrpState.Backup, _api.State);
    }

    [Fact]
    public void BecameMaster_StoppedMemberLeftAlone()
    {
        _api.State = VrrpState.Initialize;

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        Assert.Empty(_api.TakeOvers);
    }

    [Fact]
    public void BecameMaster_RouterOutsideGroupLeftAlone()
    {
        _cache.State = VrrpState.Backup;

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));

        Assert.Empty(_cache.TakeOvers);
    }

    [Fact]
    public void LeftMaster_OtherMasterHandsOver()
    {
        _api.State = VrrpState.Master;

        _coordinator.OnStateChanged("web", Change(VrrpState.Master, VrrpState.Backup, "198.51.100.12 has priority 200, above ours"));

        var reason = Assert.Single(_api.HandOvers);
        Assert.Equal("sync group frontend: router web left Master for Backup", reason);
    }

    [Fact]
    public void Stopped_OtherMasterHandsOver()
    {
        _api.State = VrrpState.Master;

        _coordinator.OnStateChanged("web", Change(VrrpState.Master, VrrpState.Initialize, "shutdown"));

        Assert.Single(_api.HandOvers);
    }

    [Fact]
    public void LeftMaster_BackupAndOutsiderUntouched()
    {
        _api.State = VrrpState.Backup;
        _cache.State = VrrpState.Master;

        _coordinator.OnStateChanged("web", Change(VrrpState.Master, VrrpState.Backup));

        Assert.Empty(_api.HandOvers);
        Assert.Empty(_cache.HandOvers);
    }

    [Fact]
    public void LeftMaster_HandingOverMemberNotAskedAgain()
    {
        _api.State = VrrpState.Master;
        _api.HandingOver = true;

        _coordinator.OnStateChanged("web", Change(VrrpState.Master, VrrpState.Backup));

        Assert.Empty(_api.HandOvers);
    }

    [Fact]
    public void BackupStopped_NothingFollows()
    {
        _api.State = VrrpState.Master;

        _coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Initialize, "shutdown"));

        Assert.Empty(_api.HandOvers);
        Assert.Empty(_api.TakeOvers);
    }

    [Fact]
    public void FollowerChange_DoesNotCascade()
    {
        _web.State = VrrpState.Master;

        // The hand-over that the group started ends with a state change whose reason starts with the group's prefix.
        _coordinator.OnStateChanged("api", Change(VrrpState.Master, VrrpState.Backup, "sync group frontend: router web left Master for Initialize: 198.51.100.12 took over as master with priority 100"));

        Assert.Empty(_web.HandOvers);
    }

    [Fact]
    public void Stop_IgnoresLaterChanges()
    {
        _api.State = VrrpState.Master;
        _coordinator.Stop();

        _coordinator.OnStateChanged("web", Change(VrrpState.Master, VrrpState.Initialize, "shutdown"));

        Assert.Empty(_api.HandOvers);
    }

    [Fact]
    public async Task Queue_ActsAfterCallerReleasesLock()
    {
        // A speaker raises StateChanged under its state machine's lock, so acting there could deadlock two routers.
        var gate = new Lock();
        var api = new FakeMember("api") { State = VrrpState.Backup, Gate = gate };
        var coordinator = new VrrpSyncGroupCoordinator(
            [new VrrpSyncGroupSettings("frontend", ["web", "api"])],
            [new FakeMember("web"), api],
            _time,
            NullLogger.Instance);

        lock (gate)
        {
            coordinator.OnStateChanged("web", Change(VrrpState.Backup, VrrpState.Master));
            Assert.Empty(api.TakeOvers);
        }

        await api.TookOver.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        coordinator.Stop();

        Assert.Single(api.TakeOvers);
    }

    /// <summary>A router whose state the test sets, recording the calls of the coordinator.</summary>
    private sealed class FakeMember(string name) : ISyncGroupMember
    {
        public string Name { get; } = name;

        public VrrpState State { get; set; } = VrrpState.Backup;

        public bool InMaintenance { get; set; }

        public bool HandingOver { get; set; }

        public DateTimeOffset? MasterHeardAt { get; set; }

        public TimeSpan AdvertisementInterval => Interval;

        public List<string> HandOvers { get; } = [];

        public List<string> TakeOvers { get; } = [];

        /// <summary>A lock that <see cref="TakeOver"/> takes, as the speaker's state machine does.</summary>
        public Lock Gate { get; init; } = new();

        public TaskCompletionSource TookOver { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<VrrpHandOverResult> HandOverAsync(string reason)
        {
            HandOvers.Add(reason);
            return Task.FromResult(VrrpHandOverResult.Completed);
        }

        public bool TakeOver(string reason)
        {
            lock (Gate)
            {
                TakeOvers.Add(reason);
                State = VrrpState.Master;
            }

            TookOver.TrySetResult();
            return true;
        }
    }
}
