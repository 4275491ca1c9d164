using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Monitoring;

/// <summary>
/// Reads both nodes' status over gRPC with tandemctl, run in the client namespace, before and after a failover.
/// Each node's management listener is bound to its own lab address and allows only the client's address.
/// </summary>
public sealed class MonitoringLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 180_000)]
    public async Task Status_FlipsOnFailoverAndBack()
    {
        await ManagementLab.RequireAsync();

        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            await lab.StartRedisAsync(cancellationToken);
            await lab.StartBackendsAsync(cancellationToken);
            StartNode(lab, topology.NodeA, lab.Options.Nodes.NodeAPriority);
            StartNode(lab, topology.NodeB, lab.Options.Nodes.NodeBPriority);

            // Before: node-a is master and node-b is a backup that hears node-a.
            var before = await WaitForStatesAsync(lab, master: topology.NodeA, backup: topology.NodeB, cancellationToken);
            JsonElement backupRouter = Router(before[topology.NodeB]);
            Assert.Equal(topology.NodeA.Address.ToString(), backupRouter.GetProperty("masterHeard").GetProperty("address").GetString());
            Assert.Equal(lab.Options.Nodes.NodeAPriority, backupRouter.GetProperty("masterHeard").GetProperty("priority").GetInt32());
            Assert.Empty(backupRouter.GetProperty("virtualAddressesHeld").EnumerateArray());
            Assert.Equal(
                $"{LabTopology.VirtualAddress}/{LabTopology.PrefixLength}",
                Router(before[topology.NodeA]).GetProperty("virtualAddressesHeld")[0].GetString());
            Assert.Equal("SESSION_STORE_KIND_REDIS", before[topology.NodeA].GetProperty("sessionStore").GetProperty("kind").GetString());
            Assert.Equal("STORE_CONNECTION_STATE_CONNECTED", before[topology.NodeA].GetProperty("sessionStore").GetProperty("connectionState").GetString());
            Assert.Equal(2, before[topology.NodeA].GetProperty("proxy").GetProperty("clusters")[0].GetProperty("destinations").GetArrayLength());

            CommandResult table = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeA), "--node", Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine(table.StandardOutput);
            Assert.Equal(0, table.ExitCode);

            foreach (LabHost node in topology.Nodes)
            {
                Assert.Equal("0801", await CheckHealthAsync(lab, node, cancellationToken));
            }

            // Watch node-b through the failover; the lab stops the watcher at teardown if it is still running.
            LabProcess watcher = lab.StartProcess(
                "tandemctl-watch", topology.Client.Namespace, LabPaths.DotnetHost,
                [ManagementLab.TandemctlAssembly, "watch", "--node", Endpoint(topology.NodeB), "--json"]);

            // Failover: node-a stops with SIGTERM and sends priority 0, so node-b takes over after Skew_Time.
            LabProcess nodeA = lab.NodeProcess(topology.NodeA);
            nodeA.Terminate();
            await nodeA.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);

            JsonElement after = await WaitForStateAsync(lab, topology.NodeB, "VRRP_STATE_MASTER", cancellationToken);
            JsonElement newMaster = Router(after);
            Assert.Equal("VRRP_STATE_BACKUP", newMaster.GetProperty("lastTransition").GetProperty("from").GetString());
            Assert.Equal("VRRP_STATE_MASTER", newMaster.GetProperty("lastTransition").GetProperty("to").GetString());
            Assert.Contains("priority 0", newMaster.GetProperty("lastTransition").GetProperty("reason").GetString(), StringComparison.Ordinal);
            // node-b may already have been master once at startup, when node-a's first advert came late, so the
            // failover is checked as one more transition rather than an absolute count.
            long transitionsBefore = long.Parse(backupRouter.GetProperty("counters").GetProperty("transitionsToMaster").GetString()!);
            long transitionsAfter = long.Parse(newMaster.GetProperty("counters").GetProperty("transitionsToMaster").GetString()!);
            Assert.Equal(transitionsBefore + 1, transitionsAfter);
            Assert.Single(newMaster.GetProperty("virtualAddressesHeld").EnumerateArray());

            CommandResult stopped = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeA)], cancellationToken);
            Assert.Equal(3, stopped.ExitCode);
            Assert.Contains("cannot connect", stopped.StandardError, StringComparison.Ordinal);

            bool watchSawTakeover = await Poll.UntilAsync(
                _ => Task.FromResult(File.ReadAllText(watcher.LogPath).Contains("\"to\": \"VRRP_STATE_MASTER\"", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(5), PollInterval, TimeProvider.System, cancellationToken);
            Assert.True(watchSawTakeover, $"The watch output has no state change to master:{Environment.NewLine}{watcher.ReadLogTail()}");

            // Back: node-a restarts with the higher priority and preempts node-b.
            StartNode(lab, topology.NodeA, lab.Options.Nodes.NodeAPriority);
            var back = await WaitForStatesAsync(lab, master: topology.NodeA, backup: topology.NodeB, cancellationToken);
            JsonElement demoted = Router(back[topology.NodeB]);
            Assert.Equal("VRRP_STATE_MASTER", demoted.GetProperty("lastTransition").GetProperty("from").GetString());
            Assert.Equal("VRRP_STATE_BACKUP", demoted.GetProperty("lastTransition").GetProperty("to").GetString());

            CommandResult denied = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeA)], cancellationToken, topology.NodeB.Namespace);
            Assert.Equal(1, denied.ExitCode);
            Assert.Contains("permission denied", denied.StandardError, StringComparison.Ordinal);
        }

        Assert.Empty(lab.TeardownProblems);
    }

    private static void StartNode(ClusterLab lab, LabHost node, byte priority) =>
        ManagementLab.StartNode(lab, node, priority, ManagementLab.MetricsPort);

    private async Task<Dictionary<LabHost, JsonElement>> WaitForStatesAsync(
        ClusterLab lab, LabHost master, LabHost backup, CancellationToken cancellationToken)
    {
        var statuses = new Dictionary<LabHost, JsonElement>();
        bool settled = await Poll.UntilAsync(
            async token =>
            {
                statuses.Clear();
                foreach (LabHost node in new[] { master, backup })
                {
                    if (await ReadStatusAsync(lab, node, token) is not { } status)
                    {
                        return false;
                    }

                    statuses[node] = status;
                }

                return State(statuses[master]) == "VRRP_STATE_MASTER" && State(statuses[backup]) == "VRRP_STATE_BACKUP"
                    && Router(statuses[backup]).TryGetProperty("masterHeard", out var heard)
                    && heard.GetProperty("address").GetString() == master.Address.ToString();
            },
            SettleTimeout, PollInterval, TimeProvider.System, cancellationToken);

        Assert.True(settled, $"{master.Name} did not become master with {backup.Name} as backup within {SettleTimeout}.{Environment.NewLine}{lab.DescribeProcesses()}");
        return statuses;
    }

    private async Task<JsonElement> WaitForStateAsync(ClusterLab lab, LabHost node, string state, CancellationToken cancellationToken)
    {
        JsonElement last = default;
        bool reached = await Poll.UntilAsync(
            async token => await ReadStatusAsync(lab, node, token) is { } status && State(last = status) == state,
            SettleTimeout, PollInterval, TimeProvider.System, cancellationToken);

        Assert.True(reached, $"{node.Name} did not reach {state} within {SettleTimeout}.{Environment.NewLine}{lab.DescribeProcesses()}");
        return last;
    }

    private static Task<JsonElement?> ReadStatusAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken) =>
        ManagementLab.ReadStatusJsonAsync(lab, node, "status", cancellationToken);

    /// <summary>
    /// Calls grpc.health.v1.Health/Check with an empty request (the whole server) from the client namespace, as a
    /// generic gRPC client that has no generated code does, and returns the reply's bytes in hex: "0801" is SERVING.
    /// </summary>
    private static async Task<string> CheckHealthAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken)
    {
        const string Script = """
            import sys, grpc
            check = grpc.insecure_channel(sys.argv[1]).unary_unary("/grpc.health.v1.Health/Check")
            print(check(b"", timeout=5).hex())
            """;
        CommandResult result = await CommandRunner.RunAsync(
            "ip", ["netns", "exec", lab.Topology.Client.Namespace, "/usr/bin/python3", "-c", Script, Endpoint(node)],
            TimeSpan.FromSeconds(30), cancellationToken);
        Assert.True(result.ExitCode == 0, $"the health check of {node.Name} failed: {result.StandardError}");
        return result.StandardOutput.Trim();
    }

    private static Task<CommandResult> RunTandemctlAsync(
        ClusterLab lab, IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? namespaceName = null) =>
        ManagementLab.RunTandemctlAsync(lab, arguments, cancellationToken, namespaceName);

    private static string Endpoint(LabHost node) => ManagementLab.Endpoint(node);

    private static JsonElement Router(JsonElement status) => status.GetProperty("virtualRouters")[0];

    private static string? State(JsonElement status) => Router(status).GetProperty("state").GetString();
}
