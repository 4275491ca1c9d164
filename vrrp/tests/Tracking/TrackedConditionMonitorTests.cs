using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;
using Tandem.Vrrp.Tracking;

namespace Tandem.Vrrp.Tests.Tracking;

/// <summary>Link and file checks against a temporary directory in place of /sys/class/net, on a fake clock.</summary>
public sealed class TrackedConditionMonitorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("tandem-track-");

    private string SysClassNet => Path.Combine(_directory.FullName, "net");

    private string TrackFile => Path.Combine(_directory.FullName, "vrrp-down");

    public void Dispose() => _directory.Delete(recursive: true);

    private void SetOperState(string interfaceName, string state)
    {
        var directory = Directory.CreateDirectory(Path.Combine(SysClassNet, interfaceName));
        File.WriteAllText(Path.Combine(directory.FullName, "operstate"), state + "\n");
    }

    private (TrackedConditionMonitor Monitor, VirtualRouter Router) Start(params VrrpTrackOptions[] track)
    {
        var options = new VrrpOptions { VirtualRouterId = 1, Priority = 100, Track = [.. track], TrackIntervalMilliseconds = 500 };
        var monitor = new TrackedConditionMonitor(options, _time, _logs.CreateLogger("test"), SysClassNet);
        var settings = new VirtualRouterSettings(1, 100, 100, true, IPAddress.Parse("198.51.100.12"));
        var router = new VirtualRouter(settings, _actions, _time, _logs.CreateLogger("test"), new VrrpCounters());
        monitor.Start(router);
        router.Start();
        return (monitor, router);
    }

    [Fact]
    public void Link_DownLowersPriority()
    {
        SetOperState("eth1", "up");
        var (monitor, router) = Start(new VrrpTrackOptions { Condition = "link:eth1", Weight = 30 });
        Assert.Equal(100, router.EffectivePriority);

        SetOperState("eth1", "down");
        _time.Advance(TimeSpan.FromMilliseconds(500));

        var condition = Assert.Single(monitor.Conditions);
        Assert.True(condition.IsFailed);
        Assert.Equal("operstate down", condition.Detail);
        Assert.Equal(70, router.EffectivePriority);
        Assert.Contains(_logs.Entries, e => e.Message == "VRID 1 tracked condition link:eth1 (weight 30) failed: operstate down");
    }

    [Fact]
    public void Link_UpAgainRestoresPriority()
    {
        SetOperState("eth1", "lowerlayerdown");
        var (_, router) = Start(new VrrpTrackOptions { Condition = "link:eth1", Weight = 30 });
        Assert.Equal(70, router.EffectivePriority);

        SetOperState("eth1", "up");
        _time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(100, router.EffectivePriority);
    }

    [Fact]
    public void Link_UnknownCountsAsUp()
    {
        SetOperState("lo", "unknown");

        var (_, router) = Start(new VrrpTrackOptions { Condition = "link:lo", Weight = 30 });

        Assert.Equal(100, router.EffectivePriority);
    }

    [Fact]
    public void Link_MissingInterfaceFails()
    {
        var (monitor, router) = Start(new VrrpTrackOptions { Condition = "link:eth9", Weight = 0 });

        Assert.True(router.InFault);
        Assert.Equal("interface not found", Assert.Single(monitor.Conditions).Detail);
    }

    [Fact]
    public void Weights_AddUp()
    {
        SetOperState("eth1", "down");
        SetOperState("eth2", "down");

        var (_, router) = Start(
            new VrrpTrackOptions { Condition = "link:eth1", Weight = 30 },
            new VrrpTrackOptions { Condition = "link:eth2", Weight = 25 });

        Assert.Equal(45, router.EffectivePriority);
        Assert.False(router.InFault);
    }

    [Fact]
    public void File_AbsentHolds()
    {
        var (monitor, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 50 });

        Assert.False(Assert.Single(monitor.Conditions).IsFailed);
        Assert.Equal(100, router.EffectivePriority);
    }

    [Fact]
    public void File_DirectoryFailsWithWeight()
    {
        Directory.CreateDirectory(TrackFile);

        var (monitor, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 50 });
        _time.Advance(TimeSpan.FromSeconds(5));

        var condition = Assert.Single(monitor.Conditions);
        Assert.True(condition.IsFailed);
        Assert.StartsWith("the path is a directory", condition.Detail, StringComparison.Ordinal);
        Assert.Equal(50, router.EffectivePriority);
        var entry = Assert.Single(_logs.Entries, e => e.EventId.Name == "ConditionFailed");
        Assert.Contains("Point the condition at a file", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_DirectoryWeightZeroFaults()
    {
        Directory.CreateDirectory(TrackFile);

        var (_, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 0 });

        Assert.True(router.InFault);
    }

    [Fact]
    public void File_EmptyFailsWithWeight()
    {
        File.WriteAllText(TrackFile, "");

        var (_, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 50 });

        Assert.Equal(50, router.EffectivePriority);
    }

    [Fact]
    public void File_IntegerIsTheWeight()
    {
        File.WriteAllText(TrackFile, "0\n");
        var (_, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 50 });
        Assert.Equal(100, router.EffectivePriority);

        File.WriteAllText(TrackFile, "20\n");
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(80, router.EffectivePriority);

        File.WriteAllText(TrackFile, "35\n");
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(65, router.EffectivePriority);

        File.Delete(TrackFile);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(100, router.EffectivePriority);
    }

    [Fact]
    public void File_TextFailsWithWeight()
    {
        File.WriteAllText(TrackFile, "maintenance\n");

        var (monitor, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 50 });

        Assert.Equal(50, router.EffectivePriority);
        Assert.Equal("file present and not an integer from 0 to 253", Assert.Single(monitor.Conditions).Detail);
    }

    [Fact]
    public void File_WeightZeroFaults()
    {
        File.WriteAllText(TrackFile, "1\n");

        var (_, router) = Start(new VrrpTrackOptions { Condition = $"file:{TrackFile}", Weight = 0 });
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(router.InFault);
        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public void HostCondition_SetFailedLowersPriority()
    {
        var (monitor, router) = Start(new VrrpTrackOptions { Condition = "pool:web", Weight = 40 });
        var pool = Assert.Single(monitor.Conditions);
        Assert.Equal(TrackedConditionKind.Pool, pool.Kind);
        Assert.Equal("web", pool.Argument);

        pool.SetFailed(true, "no healthy destination");
        Assert.Equal(60, router.EffectivePriority);

        pool.SetFailed(false, "2 healthy destinations");
        Assert.Equal(100, router.EffectivePriority);
    }
}
