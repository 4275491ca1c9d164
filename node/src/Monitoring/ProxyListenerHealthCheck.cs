using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tandem.Node.Monitoring;

/// <summary>Healthy while the proxy listener accepts connections: after the host started and before it stops.</summary>
internal sealed class ProxyListenerHealthCheck(NodeStatusCollector collector) : IHealthCheck
{
    public const string Name = "proxy-listener";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(collector.ProxyListening
            ? HealthCheckResult.Healthy("The proxy listener accepts connections.")
            : HealthCheckResult.Unhealthy("The proxy listener is not accepting connections yet, or the node is stopping."));
}
