using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Node.Forwarding;
using Tandem.Node.SessionAffinity;
using Tandem.SessionStore;
using Yarp.ReverseProxy.Configuration;

namespace Tandem.Node.Hosting;

/// <summary>
/// Checks the <c>ReverseProxy</c> section with YARP's own parser and validator before the node starts, so its errors
/// are reported together with the node's instead of one at a time when YARP first loads the routes.
/// </summary>
internal static class ReverseProxyValidation
{
    public static async Task ValidateAsync(IConfiguration configuration, List<string> errors, List<string> warnings)
    {
        var section = configuration.GetSection("ReverseProxy");
        ReverseProxyKeyCheck.Check(section, errors);

        if (!section.GetSection("Routes").GetChildren().Any())
        {
            errors.Add(
                "ReverseProxy:Routes is empty. Define at least one route, for example one whose Match:Path is " +
                "'{**catch-all}' and whose ClusterId names a cluster under ReverseProxy:Clusters.");
        }

        if (!section.GetSection("Clusters").GetChildren().Any())
        {
            errors.Add("ReverseProxy:Clusters is empty. Define at least one cluster with its Destinations.");
        }

        // The same registrations as the node, with stand-ins for the parts that need the network.
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.None));
        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(TrustedProxyList.Empty);
        services.AddSingleton<AffinityMetrics>();
        var local = new InProcessAffinityStore(TimeProvider.System, capacity: 1);
        services.AddSingleton(new AffinityPins(local, local, TimeSpan.FromMinutes(1), TimeProvider.System));
        services.AddReverseProxyServices(section);

        await using var provider = services.BuildServiceProvider();

        IProxyConfig proxyConfig;
        try
        {
            proxyConfig = provider.GetRequiredService<IProxyConfigProvider>().GetConfig();
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException or ArgumentException)
        {
            errors.Add($"ReverseProxy: the section cannot be read ({Describe(exception)}). Check it against YARP's configuration schema.");
            return;
        }

        var validator = provider.GetRequiredService<IConfigValidator>();
        var clusterIds = proxyConfig.Clusters.Select(cluster => cluster.ClusterId).ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var route in proxyConfig.Routes)
        {
            foreach (var exception in await validator.ValidateRouteAsync(route))
            {
                errors.Add($"ReverseProxy:Routes:{route.RouteId}: {exception.Message}");
            }

            if (route.ClusterId is not null && !clusterIds.Contains(route.ClusterId))
            {
                errors.Add(
                    $"ReverseProxy:Routes:{route.RouteId}:ClusterId: cluster '{route.ClusterId}' is not defined. " +
                    "Add it under ReverseProxy:Clusters or correct the name.");
            }
        }

        foreach (var cluster in proxyConfig.Clusters)
        {
            AffinityCookieOptions.Validate(cluster.ClusterId, cluster.SessionAffinity, errors);
            if (cluster.Destinations is null || cluster.Destinations.Count == 0)
            {
                warnings.Add(
                    $"ReverseProxy:Clusters:{cluster.ClusterId} has no destinations, so every request routed to it " +
                    $"gets 503. Add one under ReverseProxy:Clusters:{cluster.ClusterId}:Destinations, for example " +
                    "\"b1\": { \"Address\": \"http://198.51.100.31:8080/\" }.");
            }

            foreach (var exception in await validator.ValidateClusterAsync(cluster))
            {
                errors.Add($"ReverseProxy:Clusters:{cluster.ClusterId}: {exception.Message}");
            }
        }
    }

    /// <summary>
    /// Registers YARP with the node's affinity policy and forwarded-header transforms. The caller registers
    /// <see cref="AffinityPins"/>, <see cref="AffinityMetrics"/>, <see cref="TrustedProxyList"/> and a
    /// <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddReverseProxyServices(this IServiceCollection services, IConfigurationSection section)
    {
        services.AddSingleton<Yarp.ReverseProxy.SessionAffinity.ISessionAffinityPolicy, ClusterCookieAffinityPolicy>();
        services.AddReverseProxy()
            .LoadFromConfig(section)
            .AddTransforms<ForwardedHeadersTransformProvider>();
        return services;
    }

    private static string Describe(Exception exception) =>
        exception.InnerException is null ? exception.Message : $"{exception.Message} {exception.InnerException.Message}";
}
