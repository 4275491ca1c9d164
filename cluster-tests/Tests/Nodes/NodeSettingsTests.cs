using Tandem.ClusterTests.Lab.Nodes;

namespace Tandem.ClusterTests.Tests.Nodes;

public sealed class NodeSettingsTests
{
    [Fact]
    public void SkewTime_FollowsRfcFormula()
    {
        var settings = new NodeSettings { AdvertisementIntervalCentiseconds = 100 };

        // (256 - 100) * 1000 ms / 256 = 609.375 ms.
        Assert.Equal(TimeSpan.FromMicroseconds(609_375), settings.SkewTime(100));
        Assert.Equal(TimeSpan.FromMicroseconds(414_062.5), settings.SkewTime(150));
    }

    [Fact]
    public void ActiveDownInterval_IsThreeIntervalsPlusSkew()
    {
        var settings = new NodeSettings { AdvertisementIntervalCentiseconds = 100 };

        Assert.Equal(TimeSpan.FromMicroseconds(3_609_375), settings.ActiveDownInterval(100));
    }

    [Fact]
    public void TakeoverBound_AddsOneSecond()
    {
        var settings = new NodeSettings { AdvertisementIntervalCentiseconds = 50 };

        // 3 * 500 ms + (156 * 500 ms / 256) + 1 s.
        Assert.Equal(TimeSpan.FromMicroseconds(2_804_687.5), settings.TakeoverBound(100));
    }
}
