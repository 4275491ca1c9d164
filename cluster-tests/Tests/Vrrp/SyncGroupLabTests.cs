using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;
using Tandem.ClusterTests.Tests.Monitoring;

namespace Tandem.ClusterTests.Tests.Vrrp;

/// <summary>
/// Two nodes with the routers web and api in the sync group "frontend", node-a master of both. A switchover of web
/// alone on node-a must move api to node-b too, because the group follows a router that leaves Master.
/// </summary>
public sealed class SyncGroupLabTests(ITestOutputHelper output)
{
    private const string Token = "6d2f8a4c0e1b3d5f7a9c2e4f6b8d0a1c";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly LabSyncGroup Frontend = new("frontend", ["web", "api"]);

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 120_000)]
    public async Task SyncGroup_SwitchoverOfOneMovesBoth()
    {
        await ManagementLab.RequireAsync();

        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            NodeSettings settings = lab.Options.Nodes;
            IPAddress[] both = [MultiRouterLab.WebAddress, MultiRouterLab.ApiAddress];
            string tokenFile = Path.Combine(lab.RunDirectory, "control.token");
            File.WriteAllText(tokenFile, Token + "\n");
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            await lab.StartRedisAsync(cancellationToken);
            await lab.StartBackendsAsync(cancellationToken);
            string tokenSetting = $"--Management:ControlTokenFile={tokenFile}";
            MultiRouterLab.StartNode(lab, topology.NodeA, settings.NodeAPriority, settings.NodeAPriority, [Frontend], tokenSetting);
            MultiRouterLab.StartNode(lab, topology.NodeB, settings.NodeBPriority, settings.NodeBPriority, [Frontend], tokenSetting);
            await MultiRouterLab.WaitForHttpsAsync(lab, topology.NodeA, cancellationToken);
            await MultiRouterLab.WaitForHttpsAsync(lab, topology.NodeB, cancellationToken);

            Assert.True(
                await Poll.UntilAsync(
                    async token => await MultiRouterLab.HasExactlyAsync(lab, topology.NodeA, both, token)
                        && await MultiRouterLab.HasExactlyAsync(lab, topology.NodeB, [], token),
                    lab.Options.StartupTimeout, PollInterval, TimeProvider.System, cancellationToken),
                $"node-a never had both addresses alone.{Environment.NewLine}{lab.DescribeProcesses()}");

            // Only web is named, so without the group api would stay on node-a.
            CommandResult switchover = await ManagementLab.RunTandemctlAsync(
                lab, ["switchover", "--router", "web", "--node", ManagementLab.Endpoint(topology.NodeA), "--token-file", tokenFile], cancellationToken);
            output.WriteLine($"$ tandemctl switchover --router web{Environment.NewLine}{switchover.StandardOutput}{switchover.StandardError}");
            Assert.Equal(0, switchover.ExitCode);
            Assert.Contains("handed over router web to 198.51.100.12", switchover.StandardOutput, StringComparison.Ordinal);

            // node-a's api hands over once its web has left Master, which is when the call returns, and node-b's api
            // takes over after its Skew_Time. The bound adds one second for the polls, which run 'ip' up to four times.
            var sinceSwitchover = Stopwatch.StartNew();
            TimeSpan bound = settings.PriorityZeroTakeoverBound(settings.NodeBPriority) + TimeSpan.FromSeconds(1);
            bool followed = await Poll.UntilAsync(
                async token => await MultiRouterLab.HasExactlyAsync(lab, topology.NodeB, both, token)
                    && await MultiRouterLab.HasExactlyAsync(lab, topology.NodeA, [], token),
                bound + TimeSpan.FromSeconds(5), PollInterval, TimeProvider.System, cancellationToken);
            TimeSpan elapsed = sinceSwitchover.Elapsed;
            output.WriteLine($"node-b had both addresses {elapsed.TotalMilliseconds:0} ms after the switchover call returned (bound {bound.TotalMilliseconds:0} ms)");
            Assert.True(followed, $"api did not follow web to node-b.{Environment.NewLine}{lab.DescribeProcesses()}");
            Assert.True(elapsed <= bound, $"node-b had both addresses only after {elapsed.TotalMilliseconds:0} ms, more than {bound.TotalMilliseconds:0} ms.");

            await MultiRouterLab.AssertServedByAsync(lab, MultiRouterLab.WebAddress, topology.NodeB, cancellationToken);
            await MultiRouterLab.AssertServedByAsync(lab, MultiRouterLab.ApiAddress, topology.NodeB, cancellationToken);

            // node-a's status names the group and shows why api left Master.
            JsonElement? status = await ManagementLab.ReadStatusJsonAsync(lab, topology.NodeA, "status", cancellationToken);
            Assert.NotNull(status);
            JsonElement api = status.Value.GetProperty("virtualRouters").EnumerateArray().Single(router => router.GetProperty("name").GetString() == "api");
            Assert.Equal("frontend", api.GetProperty("syncGroup").GetString());
            Assert.Equal("VRRP_STATE_BACKUP", api.GetProperty("state").GetString());
            string reason = api.GetProperty("lastTransition").GetProperty("reason").GetString()!;
            output.WriteLine($"node-a api: {reason}");
            Assert.StartsWith("sync group frontend: router web left Master for Backup: 198.51.100.12 took over", reason, StringComparison.Ordinal);
        }

        Assert.Empty(lab.TeardownProblems);
    }
}
