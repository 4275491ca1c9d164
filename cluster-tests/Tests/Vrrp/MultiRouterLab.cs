using System.Net;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;
using Tandem.ClusterTests.Tests.Monitoring;

namespace Tandem.ClusterTests.Tests.Vrrp;

/// <summary>What the lab tests of several virtual routers per node share: two routers, web and api, on eth0.</summary>
internal static class MultiRouterLab
{
    public static readonly IPAddress WebAddress = LabTopology.VirtualAddress;
    public static readonly IPAddress ApiAddress = IPAddress.Parse("198.51.100.101");

    /// <summary>
    /// Starts <paramref name="node"/> with the routers web (VRID 51) and api (VRID 52) at the given priorities, its
    /// management listener open to the client namespace, and any <paramref name="settings"/>. Returns the config path.
    /// </summary>
    public static string StartNode(
        ClusterLab lab, LabHost node, byte webPriority, byte apiPriority, IReadOnlyList<LabSyncGroup>? syncGroups = null, params string[] settings)
    {
        string configPath = MultiRouterConfigFile.Write(
            lab.RunDirectory,
            lab.Topology,
            node,
            [new LabRouter("web", 51, WebAddress, webPriority), new LabRouter("api", 52, ApiAddress, apiPriority)],
            lab.Options.Nodes,
            lab.Certificate,
            syncGroups);
        lab.StartProcess(
            node.Name,
            node.Namespace,
            LabPaths.DotnetHost,
            [
                lab.NodeAssemblyPath, "--config", configPath,
                $"--Management:Address={node.Address}",
                $"--Management:Port={ManagementLab.ManagementPort}",
                $"--Management:MetricsPort={ManagementLab.MetricsPort}",
                $"--Management:AllowedNetworks:0={lab.Topology.Client.Address}/32",
                .. settings,
            ]);
        return configPath;
    }

    public static async Task WaitForHttpsAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken)
    {
        var endpoint = new IPEndPoint(node.Address, LabTopology.ProxyPort);
        bool ready = await Poll.UntilAsync(
            async token => (await lab.Client.GetHttpsAsync(endpoint, "/ready", null, token)).StatusCode is not null,
            lab.Options.StartupTimeout,
            TimeSpan.FromMilliseconds(100),
            TimeProvider.System,
            cancellationToken);
        Assert.True(ready, $"{node.Name} did not serve HTTPS on {endpoint}.{Environment.NewLine}{lab.DescribeProcesses()}");
    }

    /// <summary>True when <paramref name="node"/> has exactly <paramref name="expected"/> of the two virtual addresses.</summary>
    public static async Task<bool> HasExactlyAsync(ClusterLab lab, LabHost node, IReadOnlyCollection<IPAddress> expected, CancellationToken cancellationToken)
    {
        foreach (IPAddress address in new[] { WebAddress, ApiAddress })
        {
            if (await lab.Network.HasAddressAsync(node, address, cancellationToken) != expected.Contains(address))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks that an HTTPS request to <paramref name="address"/> succeeds and that <paramref name="node"/> proxied it.</summary>
    public static async Task AssertServedByAsync(ClusterLab lab, IPAddress address, LabHost node, CancellationToken cancellationToken)
    {
        ProbeResult result = await lab.Client.GetHttpsAsync(new IPEndPoint(address, LabTopology.ProxyPort), "/", null, cancellationToken);
        Assert.True(result.Succeeded, $"GET https://{address}/ failed: {result.Failure} {result.Detail}");
        Assert.Equal(node.Address, result.Reply?.PeerAddress);
    }

    /// <summary>Runs <c>tandem-node release</c> in the namespace of <paramref name="node"/>, as systemd's ExecStopPost would.</summary>
    public static Task<CommandResult> RunReleaseAsync(ClusterLab lab, LabHost node, string configPath, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(
            "ip",
            ["netns", "exec", node.Namespace, LabPaths.DotnetHost, lab.NodeAssemblyPath, "release", "--config", configPath],
            TimeSpan.FromSeconds(30),
            cancellationToken);
}
