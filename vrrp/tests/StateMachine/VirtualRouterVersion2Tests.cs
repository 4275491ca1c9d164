using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.StateMachine;

/// <summary>The VRRPv2 timer rules of RFC 3768 §6.1 and §6.4.2.</summary>
public sealed class VirtualRouterVersion2Tests
{
    private static readonly IPAddress Primary = IPAddress.Parse("198.51.100.12");
    private static readonly IPAddress Master = IPAddress.Parse("198.51.100.13");

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingActions _actions = new();
    private readonly RecordingLoggerFactory _logs = new();

    private VirtualRouter CreateRouter(byte priority, int interval, VrrpVersion version = VrrpVersion.V2)
    {
        var settings = new VirtualRouterSettings(1, priority, interval, true, Primary, version);
        return new VirtualRouter(settings, _actions, _time, _logs.CreateLogger("test"));
    }

    private static TimeSpan Cs(int centiseconds) => TimeSpan.FromMilliseconds(centiseconds * 10);

    [Theory]
    [InlineData(100, 100, 60)]
    [InlineData(100, 300, 60)]
    [InlineData(150, 500, 41)]
    [InlineData(1, 25500, 99)]
    [InlineData(254, 100, 0)]
    public void SkewTime_Version2_IgnoresInterval(int priority, int interval, int expected)
    {
        // RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds, with no interval factor.
        Assert.Equal(expected, VirtualRouter.ComputeSkewTime(VrrpVersion.V2, priority, interval));
    }

    [Theory]
    [InlineData(100, 100, 360)]
    [InlineData(100, 300, 960)]
    [InlineData(200, 200, 621)]
    public void MasterDownInterval_Version2_ThreeIntervalsPlusSkew(int priority, int interval, int expected)
    {
        Assert.Equal(expected, VirtualRouter.ComputeMasterDownInterval(VrrpVersion.V2, priority, interval));
    }

    [Fact]
    public void Backup_Version2_TakesOverAfterMasterDownInterval()
    {
        // Interval 3 s and priority 100: 3 × 300 cs + 60 cs = 960 cs. VRRPv3 would wait 3 × 300 + 180 = 1080 cs.
        var router = CreateRouter(100, 300);
        router.Start();

        _time.Advance(Cs(959));
        Assert.Equal(VrrpState.Backup, router.State);

        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Backup_Version2_KeepsOwnInterval()
    {
        // The reader discards VRRPv2 adverts with another interval, but even one that got through must not change
        // Master_Down_Interval: RFC 3768 has no Master_Adver_Interval.
        var router = CreateRouter(100, 100);
        router.Start();

        router.OnAdvertisement(Master, 200, 500);

        Assert.Equal(100, router.MasterAdverIntervalCentiseconds);
        _time.Advance(Cs(360));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Backup_Version3_AdoptsMasterInterval()
    {
        var router = CreateRouter(100, 100, VrrpVersion.V3);
        router.Start();

        router.OnAdvertisement(Master, 200, 500);

        Assert.Equal(500, router.MasterAdverIntervalCentiseconds);
    }

    [Fact]
    public void Backup_Version2PriorityZero_WaitsSkewTime()
    {
        var router = CreateRouter(100, 300);
        router.Start();
        router.OnAdvertisement(Master, 200, 300);

        router.OnAdvertisement(Master, 0, 300);
        _time.Advance(Cs(59));
        Assert.Equal(VrrpState.Backup, router.State);

        _time.Advance(Cs(1));
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void Master_Version2_AdvertisesEveryInterval()
    {
        var router = CreateRouter(100, 200);
        router.Start();
        _time.Advance(Cs(VirtualRouter.ComputeMasterDownInterval(VrrpVersion.V2, 100, 200)));
        _actions.Clear();

        for (var i = 0; i < 3; i++)
        {
            _time.Advance(Cs(199));
            Assert.Equal(i, _actions.SentCount(100));
            _time.Advance(Cs(1));
        }

        Assert.Equal(3, _actions.SentCount(100));
    }
}
