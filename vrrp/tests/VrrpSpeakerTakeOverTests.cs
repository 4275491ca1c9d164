using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

public sealed class VrrpSpeakerTakeOverTests
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private readonly FakePlatform _platform = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly FakeTimeProvider _time = new();

    private VrrpSpeaker CreateSpeaker() => new(
        new VrrpOptions { Interface = "veth-test", VirtualRouterId = 51, Priority = 100, VirtualAddresses = ["198.51.100.100/24"] },
        _logs,
        _time,
        _platform);

    [Fact]
    public async Task TakeOver_BackupBecomesMasterAtOnce()
    {
        await using var speaker = CreateSpeaker();
        var changes = new List<VrrpStateChange>();
        speaker.StateChanged += changes.Add;
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        var tookOver = speaker.TakeOver("sync group frontend: router web became master");

        // No time passed, so the Master_Down_Timer has not fired: the change comes from TakeOver alone.
        Assert.True(tookOver);
        Assert.Equal(VrrpState.Master, speaker.State);
        Assert.Equal("sync group frontend: router web became master", changes[^1].Reason);
        Assert.Single(_platform.Transport.Sent);
        Assert.Equal([IPAddress.Parse("198.51.100.100")], await _platform.ArpSender.FirstAnnouncement.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken));
        Assert.Equal(1, speaker.Counters.BecameMaster);
    }

    [Fact]
    public async Task TakeOver_MasterUnchanged()
    {
        await using var speaker = CreateSpeaker();
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMilliseconds(3600));
        Assert.Equal(VrrpState.Master, speaker.State);

        Assert.False(speaker.TakeOver("sync group frontend: router web became master"));
        Assert.Equal(1, speaker.Counters.BecameMaster);
    }

    [Fact]
    public async Task TakeOver_InMaintenanceRejected()
    {
        await using var speaker = CreateSpeaker();
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        await speaker.EnterMaintenanceAsync("maintenance requested by 198.51.100.50");

        Assert.False(speaker.TakeOver("sync group frontend: router web became master"));
        Assert.Equal(VrrpState.Backup, speaker.State);
        Assert.Empty(_platform.Transport.Sent);
    }

    [Fact]
    public async Task TakeOver_BeforeStartRejected()
    {
        await using var speaker = CreateSpeaker();

        Assert.False(speaker.TakeOver("sync group frontend: router web became master"));
        Assert.Equal(VrrpState.Initialize, speaker.State);
    }
}
