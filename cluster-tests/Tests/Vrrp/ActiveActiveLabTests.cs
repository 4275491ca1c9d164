using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;
using Tandem.ClusterTests.Tests.Monitoring;

namespace Tandem.ClusterTests.Tests.Vrrp;

/// <summary>
/// Two nodes, each running two virtual routers with crossed priorities, so that node-a is master of the router "web"
/// (VRID 51, 198.51.100.100) and node-b of "api" (VRID 52, 198.51.100.101). Both addresses serve HTTPS through the
/// proxy at once. Then node-a is killed with SIGKILL and released, as systemd's ExecStopPost would, and node-b must
/// hold and serve both addresses.
/// </summary>
public sealed class ActiveActiveLabTests(ITestOutputHelper output)
{
    private const byte HighPriority = 150;
    private const byte LowPriority = 100;

    private static readonly IPAddress WebAddress = MultiRouterLab.WebAddress;
    private static readonly IPAddress ApiAddress = MultiRouterLab.ApiAddress;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 120_000)]
    public async Task ActiveActive_KilledNodeLeavesBothToPeer()
    {
        await ManagementLab.RequireAsync();

        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            NodeSettings settings = lab.Options.Nodes;
            await lab.StartRedisAsync(cancellationToken);
            await lab.StartBackendsAsync(cancellationToken);

            string configA = MultiRouterLab.StartNode(lab, topology.NodeA, webPriority: HighPriority, apiPriority: LowPriority);
            MultiRouterLab.StartNode(lab, topology.NodeB, webPriority: LowPriority, apiPriority: HighPriority);
            await MultiRouterLab.WaitForHttpsAsync(lab, topology.NodeA, cancellationToken);
            await MultiRouterLab.WaitForHttpsAsync(lab, topology.NodeB, cancellationToken);

            // Before: each node has its own address and not the other's, for a whole down interval of the backups,
            // which shows that each backup hears the other node's adverts for its VRID.
            Assert.True(
                await Poll.UntilAsync(token => IsSplitAsync(lab, token), lab.Options.StartupTimeout, PollInterval, TimeProvider.System, cancellationToken),
                $"node-a never held only {WebAddress} while node-b held only {ApiAddress}.{Environment.NewLine}{lab.DescribeProcesses()}");
            await Task.Delay(settings.ActiveDownInterval(LowPriority), TimeProvider.System, cancellationToken);
            Assert.True(await IsSplitAsync(lab, cancellationToken), $"The addresses moved while both nodes ran.{Environment.NewLine}{lab.DescribeProcesses()}");

            await MultiRouterLab.AssertServedByAsync(lab, WebAddress, topology.NodeA, cancellationToken);
            await MultiRouterLab.AssertServedByAsync(lab, ApiAddress, topology.NodeB, cancellationToken);

            CommandResult status = await ManagementLab.RunTandemctlAsync(
                lab, ["status", "--node", ManagementLab.Endpoint(topology.NodeA), "--node", ManagementLab.Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine($"$ tandemctl status{Environment.NewLine}{status.StandardOutput}{status.StandardError}");
            Assert.Equal(0, status.ExitCode);
            Assert.Contains("VRID 51 web: master node-a", status.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("VRID 52 api: master node-b", status.StandardOutput, StringComparison.Ordinal);

            // Each socket receives the adverts of both VRIDs. The other VRID's adverts are not counted as invalid.
            foreach (LabHost node in topology.Nodes)
            {
                JsonElement? nodeStatus = await ManagementLab.ReadStatusJsonAsync(lab, node, "status", cancellationToken);
                Assert.NotNull(nodeStatus);
                foreach (JsonElement router in nodeStatus.Value.GetProperty("virtualRouters").EnumerateArray())
                {
                    string name = $"{node.Name} {router.GetProperty("name").GetString()}";
                    JsonElement counters = router.GetProperty("counters");
                    Assert.NotEmpty(counters.GetProperty("rejectedByReason").EnumerateObject());
                    Assert.All(counters.GetProperty("rejectedByReason").EnumerateObject(), reason => Assert.True(reason.Value.GetString() == "0", $"{name} rejected {reason.Value} adverts as {reason.Name}."));
                    if (router.GetProperty("state").GetString() == "VRRP_STATE_BACKUP")
                    {
                        Assert.True(ulong.Parse(counters.GetProperty("advertsReceived").GetString()!) > 0, $"{name} received no advert from its master.");
                    }
                }
            }

            // Fault: SIGKILL sends no priority-0 advert, so node-b's web router waits its whole Active_Down_Interval.
            var sinceKill = Stopwatch.StartNew();
            lab.NodeProcess(topology.NodeA).KillHard();
            CommandResult release = await MultiRouterLab.RunReleaseAsync(lab, topology.NodeA, configA, cancellationToken);
            output.WriteLine($"release of node-a: exit {release.ExitCode} in {release.Duration.TotalMilliseconds:0} ms");
            Assert.Equal(0, release.ExitCode);

            TimeSpan bound = settings.TakeoverBound(LowPriority);
            bool tookOver = await Poll.UntilAsync(
                async token => await lab.Network.HasAddressAsync(topology.NodeB, WebAddress, token)
                    && (await lab.Client.GetHttpsAsync(new IPEndPoint(WebAddress, LabTopology.ProxyPort), "/", null, token)).Succeeded,
                bound + TimeSpan.FromSeconds(5),
                PollInterval,
                TimeProvider.System,
                cancellationToken);
            TimeSpan takeover = sinceKill.Elapsed;
            output.WriteLine($"node-b served {WebAddress} {takeover.TotalMilliseconds:0} ms after the SIGKILL of node-a (bound {bound.TotalMilliseconds:0} ms)");
            Assert.True(tookOver, $"node-b did not serve {WebAddress} after node-a died.{Environment.NewLine}{lab.DescribeProcesses()}");
            Assert.True(takeover <= bound, $"node-b took {takeover.TotalMilliseconds:0} ms to serve {WebAddress}, more than {bound.TotalMilliseconds:0} ms.");

            // After: node-b has and serves both addresses, and the api router never moved.
            Assert.True(await lab.Network.HasAddressAsync(topology.NodeB, WebAddress, cancellationToken));
            Assert.True(await lab.Network.HasAddressAsync(topology.NodeB, ApiAddress, cancellationToken));
            Assert.False(await lab.Network.HasAddressAsync(topology.NodeA, WebAddress, cancellationToken));
            await MultiRouterLab.AssertServedByAsync(lab, WebAddress, topology.NodeB, cancellationToken);
            await MultiRouterLab.AssertServedByAsync(lab, ApiAddress, topology.NodeB, cancellationToken);
        }

        Assert.Empty(lab.TeardownProblems);
    }

    /// <summary>True while node-a has only the web address and node-b only the api address.</summary>
    private static async Task<bool> IsSplitAsync(ClusterLab lab, CancellationToken cancellationToken) =>
        await MultiRouterLab.HasExactlyAsync(lab, lab.Topology.NodeA, [WebAddress], cancellationToken)
        && await MultiRouterLab.HasExactlyAsync(lab, lab.Topology.NodeB, [ApiAddress], cancellationToken);
}
