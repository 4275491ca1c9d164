using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab.Certificates;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Lab.Nodes;

/// <summary>One entry of <c>Vrrp:Routers</c> in a lab node's config.</summary>
/// <param name="VirtualAddress">The router's one virtual address, configured with prefix length <see cref="LabTopology.PrefixLength"/>.</param>
public sealed record LabRouter(string Name, byte VirtualRouterId, IPAddress VirtualAddress, byte Priority);

/// <summary>One entry of <c>Vrrp:SyncGroups</c> in a lab node's config.</summary>
public sealed record LabSyncGroup(string Name, IReadOnlyList<string> Routers);

/// <summary>Writes a node config with several virtual routers, otherwise the same as <see cref="NodeConfigFile"/>.</summary>
public static class MultiRouterConfigFile
{
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    /// <summary>
    /// Writes the config of <paramref name="node"/> into <paramref name="directory"/> with <c>Vrrp:Routers</c> in place
    /// of the single router, and returns its path. The interval and Preempt come from <paramref name="settings"/>.
    /// </summary>
    public static string Write(
        string directory,
        LabTopology topology,
        LabHost node,
        IReadOnlyList<LabRouter> routers,
        NodeSettings settings,
        LabCertificate certificate,
        IReadOnlyList<LabSyncGroup>? syncGroups = null)
    {
        string path = NodeConfigFile.Write(directory, topology, node, routers[0].Priority, settings, certificate);
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();

        var routerList = new JsonArray();
        foreach (LabRouter router in routers)
        {
            routerList.Add(new JsonObject
            {
                ["Name"] = router.Name,
                ["VirtualRouterId"] = router.VirtualRouterId,
                ["Priority"] = router.Priority,
                ["VirtualAddresses"] = new JsonArray($"{router.VirtualAddress}/{LabTopology.PrefixLength}"),
            });
        }

        // The shared settings stay in the Vrrp section, and every router inherits them.
        var vrrp = new JsonObject
        {
            ["Interface"] = "eth0",
            ["AdvertisementIntervalCentiseconds"] = settings.AdvertisementIntervalCentiseconds,
            ["Preempt"] = settings.Preempt,
            ["Routers"] = routerList,
        };

        if (syncGroups is { Count: > 0 })
        {
            var groupList = new JsonArray();
            foreach (LabSyncGroup group in syncGroups)
            {
                groupList.Add(new JsonObject
                {
                    ["Name"] = group.Name,
                    ["Routers"] = new JsonArray([.. group.Routers.Select(name => JsonValue.Create(name))]),
                });
            }

            vrrp["SyncGroups"] = groupList;
        }

        config["Vrrp"] = vrrp;
        File.WriteAllText(path, config.ToJsonString(WriteOptions));
        return path;
    }
}
