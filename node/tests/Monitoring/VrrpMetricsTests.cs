using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using Tandem.Node.Monitoring;
using Tandem.Vrrp;

namespace Tandem.Node.Tests.Monitoring;

public sealed class VrrpMetricsTests
{
    private static VrrpSpeaker CreateSpeaker(int priority, string virtualAddress) => new(
        new VrrpOptions { Interface = "lo", VirtualRouterId = 51, Priority = priority, VirtualAddresses = [virtualAddress] },
        NullLoggerFactory.Instance,
        TimeProvider.System);

    [Fact]
    public async Task Update_SharedVridKeepsSeriesApart()
    {
        // An IPv4 and an IPv6 router may both use VRID 51: only the router label distinguishes their series.
        var registry = Metrics.NewCustomRegistry();
        var metrics = new VrrpMetrics(Metrics.WithCustomRegistry(registry));
        await using var ipv4 = CreateSpeaker(100, "198.51.100.100/24");
        await using var ipv6 = CreateSpeaker(200, "fe80::51");

        metrics.Update("web4", ipv4);
        metrics.Update("web6", ipv6);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken);
        var lines = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n');

        Assert.Contains("tandem_vrrp_priority{router=\"web4\",vrid=\"51\"} 100", lines);
        Assert.Contains("tandem_vrrp_priority{router=\"web6\",vrid=\"51\"} 200", lines);
        Assert.Contains("tandem_vrrp_effective_priority{router=\"web4\",vrid=\"51\"} 100", lines);
        Assert.Contains("tandem_vrrp_effective_priority{router=\"web6\",vrid=\"51\"} 200", lines);
        Assert.Contains("tandem_vrrp_state{router=\"web4\",vrid=\"51\",state=\"initialize\"} 1", lines);
        Assert.Contains("tandem_vrrp_state{router=\"web6\",vrid=\"51\",state=\"initialize\"} 1", lines);
        Assert.Contains("tandem_vrrp_adverts_sent_total{router=\"web4\",vrid=\"51\"} 0", lines);
        Assert.Contains("tandem_vrrp_adverts_sent_total{router=\"web6\",vrid=\"51\"} 0", lines);
        Assert.Equal(2, lines.Count(line => line.StartsWith("tandem_vrrp_notify_failures_total{", StringComparison.Ordinal)));
    }
}
