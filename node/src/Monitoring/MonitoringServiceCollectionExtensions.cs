using Microsoft.Extensions.DependencyInjection;

namespace Tandem.Node.Monitoring;

internal static class MonitoringServiceCollectionExtensions
{
    /// <summary>
    /// Registers the proxy request counters and, unless <paramref name="management"/> is null (Management:Port 0),
    /// the management listener with its status, events and metrics.
    /// </summary>
    public static IServiceCollection AddNodeMonitoring(this IServiceCollection services, ManagementSettings? management)
    {
        services.AddSingleton<ProxyRequestCounters>();
        services.AddSingleton<ProxyConnectionCounter>();
        services.AddSingleton<SessionStoreProbe>();
        services.AddSingleton<NodeStatusCollector>();
        if (management is null)
        {
            return services;
        }

        services.AddSingleton(management);
        services.AddSingleton<ManagementMetrics>();
        services.AddSingleton<NodeEventHub>();
        services.AddHostedService(provider => provider.GetRequiredService<NodeEventHub>());
        services.AddSingleton<ClusterHeartbeatService>();
        services.AddHostedService(provider => provider.GetRequiredService<ClusterHeartbeatService>());
        services.AddSingleton<ClusterViewBuilder>();
        services.AddSingleton<ManagementServer>();
        services.AddHostedService(provider => provider.GetRequiredService<ManagementServer>());
        return services;
    }
}
