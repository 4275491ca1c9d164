using System.Text.Json;
using Tandem.ClusterTests.Lab.Drill;

namespace Tandem.ClusterTests.Tests.Drill;

public sealed class DrillReportTests
{
    [Fact]
    public void Json_HasSnakeCaseKeysTheDemoPromises()
    {
        var report = new DrillReport
        {
            Variant = "process-kill",
            MasterBefore = "node-a",
            MasterAfter = "node-b",
            KilledAt = new DateTimeOffset(2026, 12, 4, 20, 0, 0, TimeSpan.Zero),
            TakeoverMs = 3712,
            FailedRequests = 14,
            AffinityKept = true,
            StandbyAnswered = true,
            Backend = "backend-2",
            RequestsSent = 120,
            FailedBeforeFault = 0,
            FailedAfterTakeover = 0,
            CookiesReissued = 0,
            ServedByFailedMaster = 0,
            FailureReasons = new Dictionary<string, int> { ["connect_timeout"] = 14 },
            AdvertisementIntervalMs = 1000,
            SkewTimeMs = 609,
            TakeoverBoundMs = 4609,
            TlsResumed = true,
            TlsResumedByVersion = new Dictionary<string, bool> { ["tls1_3"] = true, ["tls1_2"] = true },
            AffinitySessions = 300,
            AffinityRepinned = 0,
            TlsSessions = 50,
            TlsResumedShare = 1.0,
            Problems = [],
        };

        using JsonDocument json = JsonDocument.Parse(report.ToJson());
        JsonElement root = json.RootElement;

        Assert.Equal(3712, root.GetProperty("takeover_ms").GetInt64());
        Assert.Equal(14, root.GetProperty("failed_requests").GetInt32());
        Assert.True(root.GetProperty("affinity_kept").GetBoolean());
        Assert.Equal("process-kill", root.GetProperty("variant").GetString());
        Assert.Equal("node-a", root.GetProperty("master_before").GetString());
        Assert.Equal("node-b", root.GetProperty("master_after").GetString());
        Assert.True(root.GetProperty("passed").GetBoolean());
        Assert.Equal(14, root.GetProperty("failure_reasons").GetProperty("connect_timeout").GetInt32());
        Assert.True(root.GetProperty("tls_resumed").GetBoolean());
        Assert.True(root.GetProperty("tls_resumed_by_version").GetProperty("tls1_3").GetBoolean());
        Assert.Equal(300, root.GetProperty("affinity_sessions").GetInt32());
        Assert.Equal(0, root.GetProperty("affinity_repinned").GetInt32());
        Assert.Equal(50, root.GetProperty("tls_sessions").GetInt32());
        Assert.Equal(1.0, root.GetProperty("tls_resumed_share").GetDouble());
    }

    [Theory]
    [InlineData("process-kill", DrillVariant.ProcessKill)]
    [InlineData("host-down", DrillVariant.HostDown)]
    [InlineData("graceful-stop", DrillVariant.GracefulStop)]
    public void VariantName_RoundTrips(string name, DrillVariant variant)
    {
        Assert.True(DrillVariantNames.TryParse(name, out DrillVariant parsed));
        Assert.Equal(variant, parsed);
        Assert.Equal(name, variant.ToName());
    }

    [Fact]
    public void VariantName_UnknownIsRejected()
    {
        Assert.False(DrillVariantNames.TryParse("power-cut", out _));
    }
}
