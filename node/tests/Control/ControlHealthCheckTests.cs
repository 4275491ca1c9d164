using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tandem.Node.Control;
using Tandem.Node.Monitoring;

namespace Tandem.Node.Tests.Control;

public sealed class ControlHealthCheckTests
{
    [Fact]
    public async Task ControlHealth_NoToken_NotRegistered()
    {
        var services = new ServiceCollection();
        services.AddLogging();

        // The management server adds the health check service for its other checks.
        services.AddHealthChecks();
        services.AddNodeControlService(new NodeControlContext(new ControlAccess(null), new ProxyConnectionDrain(), Vrrp: null));
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.DoesNotContain(ControlServiceCollectionExtensions.ControlHealthCheckName, report.Entries.Keys);
    }

    [Theory]
    [InlineData(true, false, HealthStatus.Healthy, "accepts connections")]
    [InlineData(false, false, HealthStatus.Unhealthy, "does not accept connections yet, because the node is starting")]
    [InlineData(false, true, HealthStatus.Unhealthy, "no longer accepts connections, because the node is stopping")]
    public void ListenerHealth_DescribesStartAndStop(bool listening, bool stopping, HealthStatus status, string description)
    {
        var result = ProxyListenerHealthCheck.Evaluate(listening, stopping);

        Assert.Equal(status, result.Status);
        Assert.Contains(description, result.Description, StringComparison.Ordinal);
    }
}
