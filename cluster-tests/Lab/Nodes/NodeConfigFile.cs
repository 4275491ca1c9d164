using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab.Certificates;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Lab.Nodes;

/// <summary>Writes the JSON config file that <c>tandem-node --config PATH</c> reads.</summary>
public static class NodeConfigFile
{
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    /// <summary>Writes the config of <paramref name="node"/> into <paramref name="directory"/> and returns its path.</summary>
    public static string Write(
        string directory, LabTopology topology, LabHost node, byte priority, NodeSettings settings, LabCertificate certificate)
    {
        var config = new JsonObject
        {
            ["Node"] = new JsonObject { ["Name"] = node.Name },
            ["Proxy"] = new JsonObject
            {
                ["Address"] = "0.0.0.0",
                ["Port"] = LabTopology.ProxyPort,
                ["CertificatePath"] = certificate.CertificatePath,
                ["KeyPath"] = certificate.KeyPath,
                ["TrustedProxies"] = new JsonArray(),

                // The drill checks that a TLS session from one node resumes on the other, which needs this engine.
                ["TlsEngine"] = "OpenSsl",
            },
            ["Vrrp"] = new JsonObject
            {
                ["Interface"] = "eth0",
                ["VirtualRouterId"] = settings.VirtualRouterId,
                ["Priority"] = priority,
                ["AdvertisementIntervalCentiseconds"] = settings.AdvertisementIntervalCentiseconds,
                ["Preempt"] = settings.Preempt,
                ["VirtualAddresses"] = new JsonArray($"{LabTopology.VirtualAddress}/{LabTopology.PrefixLength}"),
            },
            ["SessionStore"] = new JsonObject
            {
                ["Redis"] = $"{topology.Redis.Address}:{LabTopology.RedisPort}",
                ["KeyPrefix"] = "tandem:",
            },
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["all"] = new JsonObject
                    {
                        ["ClusterId"] = "backends",
                        ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" },
                    },
                },
                ["Clusters"] = new JsonObject
                {
                    ["backends"] = new JsonObject
                    {
                        ["LoadBalancingPolicy"] = "RoundRobin",
                        ["SessionAffinity"] = new JsonObject
                        {
                            ["Enabled"] = true,
                            ["Policy"] = "ClusterCookie",
                            ["AffinityKeyName"] = LabHttpClient.AffinityCookieName,
                        },
                        ["Destinations"] = new JsonObject
                        {
                            ["b1"] = new JsonObject { ["Address"] = BackendAddress(topology.Backend1) },
                            ["b2"] = new JsonObject { ["Address"] = BackendAddress(topology.Backend2) },
                        },
                    },
                },
            },
        };

        string path = Path.Combine(directory, $"{node.Name}.json");
        File.WriteAllText(path, config.ToJsonString(WriteOptions));
        return path;
    }

    private static string BackendAddress(LabHost backend) => $"http://{backend.Address}:{LabTopology.BackendPort}/";
}
