using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tandem.Node.Monitoring;

/// <summary>Healthy while the proxy listener accepts connections: after the host started and before it stops.</summary>
internal sealed class ProxyListenerHealthCheck(NodeStatusCollector collector) : IHealthCheck
{
    public const string Name = "proxy-listener";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Evaluate(collector.ProxyListening, collector.NodeStopping));

    /// <summary>Builds the result, with a description that separates a starting node from a stopping one.</summary>
    internal static HealthCheckResult Evaluate(bool listening, bool stopping)
    {
        if (listening)
        {
            return HealthCheckResult.Healthy("The proxy listener accepts connections.");
        }

        return stopping
            ? HealthCheckResult.Unhealthy("The proxy listener no longer accepts connections, because the node is stopping.")
            : HealthCheckResult.Unhealthy("The proxy listener does not accept connections yet, because the node is starting.");
    }
}
