using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Tandem.Node.Configuration;
using Tandem.Node.Hosting;
using Yarp.ReverseProxy;

namespace Tandem.Node.Vrrp.Tracking;

/// <summary>Builds the node's condition checks from the proxy state, the host lifetime and the session store.</summary>
internal static class NodeConditionChecks
{
    public static NodeConditionSources Create(
        IHostApplicationLifetime lifetime,
        IProxyStateLookup proxyState,
        SharedAffinityStoreConnector? redis) => new(
            started => CheckListener(started, lifetime),
            clusterId => CheckPool(proxyState, clusterId),
            () => CheckStore(redis));

    internal static ConditionCheck CheckListener(bool started, IHostApplicationLifetime lifetime)
    {
        // NOTE: this follows the host lifetime, as the proxy-listener health check does. It does not probe the socket.
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return new ConditionCheck(true, "the node is stopping");
        }

        return started ? new ConditionCheck(false, "listening") : new ConditionCheck(true, "not listening yet");
    }

    internal static ConditionCheck CheckPool(IProxyStateLookup proxyState, string clusterId)
    {
        if (!proxyState.TryGetCluster(clusterId, out var cluster))
        {
            return new ConditionCheck(true, "cluster not found in ReverseProxy:Clusters");
        }

        // YARP's available destinations are those that its health policies have not marked unhealthy.
        var destinations = cluster.DestinationsState;
        var available = destinations?.AvailableDestinations.Count ?? 0;
        var all = destinations?.AllDestinations.Count ?? 0;
        var detail = string.Create(CultureInfo.InvariantCulture, $"{available} of {all} destinations available");
        return new ConditionCheck(available == 0, detail);
    }

    /// <summary>
    /// Adds an error for every <c>pool:</c> condition whose cluster id is not a key of <c>ReverseProxy:Clusters</c>,
    /// because such a condition would fail from the start.
    /// </summary>
    public static void ValidatePools(VrrpSettings? vrrp, IConfiguration configuration, List<string> errors)
    {
        if (vrrp is null)
        {
            return;
        }

        var clusters = configuration.GetSection("ReverseProxy:Clusters").GetChildren().Select(child => child.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var router in vrrp.Routers)
        {
            var track = router.Options.Track ?? [];
            for (var i = 0; i < track.Count; i++)
            {
                var condition = track[i]?.Condition ?? "";
                if (!condition.StartsWith("pool:", StringComparison.OrdinalIgnoreCase) || clusters.Contains(condition["pool:".Length..]))
                {
                    continue;
                }

                var known = clusters.Count == 0 ? "none" : string.Join(", ", clusters.Order(StringComparer.Ordinal));
                errors.Add(
                    $"{router.ConfigurationPath}:Track:{i}:Condition '{condition}' names a cluster that ReverseProxy:Clusters does not define. " +
                    $"Use one of its cluster ids: {known}.");
            }
        }
    }

    internal static ConditionCheck CheckStore(SharedAffinityStoreConnector? redis)
    {
        if (redis is null)
        {
            // The in-process store is part of this process, so it is always reachable.
            return new ConditionCheck(false, "in-process store");
        }

        return redis.Store switch
        {
            null => new ConditionCheck(true, "Redis not connected yet"),
            { IsConnected: true } => new ConditionCheck(false, "Redis connected"),
            _ => new ConditionCheck(true, "Redis disconnected"),
        };
    }
}
