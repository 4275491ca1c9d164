using Microsoft.Extensions.Configuration;

namespace Tandem.Node.Tests.Support;

/// <summary>Builds node configurations in memory, starting from a valid one-node setup without VRRP.</summary>
public sealed class NodeConfiguration
{
    private readonly Dictionary<string, string?> _values;

    public NodeConfiguration(TestCertificate certificate, int port = 8443, params string[] destinations)
    {
        _values = new Dictionary<string, string?>
        {
            ["Node:Name"] = "node-test",
            ["Proxy:Address"] = "127.0.0.1",
            ["Proxy:Port"] = port.ToString(),
            ["Proxy:CertificatePath"] = certificate.CertificatePath,
            ["Proxy:KeyPath"] = certificate.KeyPath,

            // Off by default, because the default port 9901 would collide between tests that run in parallel.
            ["Management:Port"] = "0",
            ["Management:MetricsPort"] = "0",
            ["ReverseProxy:Routes:all:ClusterId"] = "backends",
            ["ReverseProxy:Routes:all:Match:Path"] = "{**catch-all}",
            ["ReverseProxy:Clusters:backends:LoadBalancingPolicy"] = "RoundRobin",
            ["ReverseProxy:Clusters:backends:SessionAffinity:Enabled"] = "true",
            ["ReverseProxy:Clusters:backends:SessionAffinity:Policy"] = "ClusterCookie",
            ["ReverseProxy:Clusters:backends:SessionAffinity:AffinityKeyName"] = "Tandem.Affinity",
        };

        if (destinations.Length == 0)
        {
            destinations = ["http://127.0.0.1:1/"];
        }

        for (var i = 0; i < destinations.Length; i++)
        {
            _values[$"ReverseProxy:Clusters:backends:Destinations:b{i + 1}:Address"] = destinations[i];
        }
    }

    public NodeConfiguration Set(string key, string? value)
    {
        _values[key] = value;
        return this;
    }

    public NodeConfiguration Remove(string keyPrefix)
    {
        foreach (var key in _values.Keys.Where(key => key.StartsWith(keyPrefix, StringComparison.OrdinalIgnoreCase)).ToList())
        {
            _values.Remove(key);
        }

        return this;
    }

    /// <summary>Turns VRRP on with valid settings and a shared Redis, which VRRP requires.</summary>
    public NodeConfiguration WithVrrp()
    {
        _values["Vrrp:Interface"] = "lo";
        _values["Vrrp:VirtualRouterId"] = "51";
        _values["Vrrp:Priority"] = "150";
        _values["Vrrp:AdvertisementIntervalCentiseconds"] = "100";
        _values["Vrrp:VirtualAddresses:0"] = "198.51.100.100/24";
        _values["SessionStore:Redis"] = "198.51.100.20:6379";
        return this;
    }

    public void AddTo(IConfigurationBuilder builder) => builder.AddInMemoryCollection(_values);

    public IConfiguration Build() => new ConfigurationBuilder().AddInMemoryCollection(_values).Build();
}
