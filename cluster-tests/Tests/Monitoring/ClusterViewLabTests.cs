using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Monitoring;

/// <summary>
/// Asks one node for the cluster view with tandemctl, run in the client namespace, before and after node-a is killed
/// with SIGKILL. The nodes use the default heartbeat settings: every 1000 ms, with an expiry of 5000 ms.
/// </summary>
public sealed class ClusterViewLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    private const string PythonPath = "/usr/bin/python3";

    private static string PythonClient => Path.Combine(LabPaths.RepositoryRoot, "monitoring", "clients", "python", "tandem_status.py");

    [Fact(Timeout = 180_000)]
    public async Task ClusterView_KilledMasterAgesAndExpires()
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

            // Before: node-b alone reports both nodes, with node-a as the only master.
            JsonElement before = await WaitForViewAsync(
                lab, topology.NodeB,
                view => Names(view).SequenceEqual(["node-a", "node-b"]) && Masters(view).SequenceEqual(["node-a"])
                    && !Member(view, "node-a")!.Value.GetProperty("stale").GetBoolean(),
                "both nodes with node-a as master", cancellationToken);
            Assert.Equal("node-b", before.GetProperty("reportingNode").GetString());
            Assert.True(before.GetProperty("peersAvailable").GetBoolean());
            Assert.Equal("MASTERSHIP_ONE_MASTER", before.GetProperty("virtualRouters")[0].GetProperty("mastership").GetString());
            Assert.True(Member(before, "node-b")!.Value.GetProperty("self").GetBoolean());
            Assert.True(AgeOf(before, "node-a") < HeartbeatTtl, $"node-a's heartbeat is {AgeOf(before, "node-a")} old.");

            CommandResult both = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeA), "--node", Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine($"$ tandemctl status --node {Endpoint(topology.NodeA)} --node {Endpoint(topology.NodeB)}{Environment.NewLine}{both.StandardOutput}");
            Assert.Equal(0, both.ExitCode);
            Assert.Contains("VRID 51: master node-a", both.StandardOutput, StringComparison.Ordinal);

            CommandResult one = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine($"$ tandemctl status --node {Endpoint(topology.NodeB)}{Environment.NewLine}{one.StandardOutput}");
            Assert.Equal(0, one.ExitCode);
            Assert.Contains("node-a  ", one.StandardOutput, StringComparison.Ordinal);

            // The Python client reads the same view; Debian's python3-grpcio may be missing, and then this step is skipped.
            CommandResult probe = await CommandRunner.RunAsync(PythonPath, ["-c", "import grpc, grpc_tools"], TimeSpan.FromSeconds(20), cancellationToken);
            if (probe.ExitCode == 0)
            {
                CommandResult python = await CommandRunner.RunAsync(
                    "ip", ["netns", "exec", topology.Client.Namespace, PythonPath, PythonClient, Endpoint(topology.NodeB)],
                    TimeSpan.FromSeconds(30), cancellationToken);
                output.WriteLine($"$ tandem_status.py {Endpoint(topology.NodeB)}{Environment.NewLine}{python.StandardOutput}{python.StandardError}");
                Assert.Equal(0, python.ExitCode);
                Assert.Contains("cluster as node-b sees it:", python.StandardOutput, StringComparison.Ordinal);
                Assert.Contains("  vrid 51: MASTERSHIP_ONE_MASTER node-a", python.StandardOutput, StringComparison.Ordinal);
            }

            // Fault: SIGKILL, so node-a sends no priority-0 advert and its last heartbeat still reports it as master.
            LabProcess nodeA = lab.NodeProcess(topology.NodeA);
            var sinceKill = Stopwatch.StartNew();
            nodeA.KillHard();
            await nodeA.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);

            JsonElement stale = await WaitForViewAsync(
                lab, topology.NodeB,
                view => Member(view, "node-a") is { } member && member.GetProperty("stale").GetBoolean(),
                "node-a marked stale", cancellationToken);
            TimeSpan staleAge = AgeOf(stale, "node-a");
            output.WriteLine($"node-a stale after {sinceKill.ElapsedMilliseconds} ms, heartbeat age {staleAge.TotalMilliseconds} ms");
            Assert.True(staleAge > TimeSpan.FromSeconds(2), $"node-a is stale at age {staleAge}, not after two intervals.");

            CommandResult staleTable = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine($"$ tandemctl status --node {Endpoint(topology.NodeB)}{Environment.NewLine}{staleTable.StandardOutput}");

            JsonElement taken = await WaitForViewAsync(
                lab, topology.NodeB, view => Masters(view).SequenceEqual(["node-b"]), "node-b as the only master", cancellationToken);
            output.WriteLine($"node-b master in the view {sinceKill.ElapsedMilliseconds} ms after the kill");
            Assert.Equal("MASTERSHIP_ONE_MASTER", taken.GetProperty("virtualRouters")[0].GetProperty("mastership").GetString());

            JsonElement gone = await WaitForViewAsync(
                lab, topology.NodeB, view => Member(view, "node-a") is null, "node-a's heartbeat expired", cancellationToken);
            output.WriteLine($"node-a gone from the view {sinceKill.ElapsedMilliseconds} ms after the kill");
            Assert.Equal(["node-b"], Names(gone));
            Assert.Equal(["node-b"], Masters(gone));

            // The heartbeat expires 5 s after node-a's last write; the bound adds polling and tandemctl start-up.
            Assert.True(sinceKill.Elapsed < HeartbeatTtl + TimeSpan.FromSeconds(10), $"node-a left the view only after {sinceKill.Elapsed}.");

            CommandResult after = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(topology.NodeB)], cancellationToken);
            output.WriteLine($"$ tandemctl status --node {Endpoint(topology.NodeB)}{Environment.NewLine}{after.StandardOutput}");
            Assert.Equal(0, after.ExitCode);
            Assert.Contains("VRID 51: master node-b", after.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Empty(lab.TeardownProblems);
    }

    private static void StartNode(ClusterLab lab, LabHost node, byte priority) =>
        ManagementLab.StartNode(lab, node, priority, ManagementLab.MetricsPort);

    /// <summary>Polls the cluster view of <paramref name="node"/> until <paramref name="condition"/> holds.</summary>
    private async Task<JsonElement> WaitForViewAsync(
        ClusterLab lab, LabHost node, Func<JsonElement, bool> condition, string description, CancellationToken cancellationToken)
    {
        JsonElement last = default;
        bool reached = await Poll.UntilAsync(
            async token => await ReadViewAsync(lab, node, token) is { } view && condition(last = view),
            SettleTimeout, PollInterval, TimeProvider.System, cancellationToken);

        string lastView = last.ValueKind == JsonValueKind.Undefined ? "none" : last.GetRawText();
        Assert.True(reached, $"{node.Name}'s cluster view did not show {description} within {SettleTimeout}. Last view: {lastView}{Environment.NewLine}{lab.DescribeProcesses()}");
        return last;
    }

    private static Task<JsonElement?> ReadViewAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken) =>
        ManagementLab.ReadStatusJsonAsync(lab, node, "cluster", cancellationToken);

    private static Task<CommandResult> RunTandemctlAsync(ClusterLab lab, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ManagementLab.RunTandemctlAsync(lab, arguments, cancellationToken);

    private static string Endpoint(LabHost node) => ManagementLab.Endpoint(node);

    private static List<string> Names(JsonElement view) =>
        [.. view.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("status").GetProperty("nodeName").GetString()!).Order(StringComparer.Ordinal)];

    private static List<string> Masters(JsonElement view) =>
        view.GetProperty("virtualRouters").GetArrayLength() == 0
            ? []
            : [.. view.GetProperty("virtualRouters")[0].GetProperty("masters").EnumerateArray().Select(m => m.GetString()!)];

    private static JsonElement? Member(JsonElement view, string name)
    {
        foreach (JsonElement member in view.GetProperty("members").EnumerateArray())
        {
            if (member.GetProperty("status").GetProperty("nodeName").GetString() == name)
            {
                return member;
            }
        }

        return null;
    }

    /// <summary>Parses the protobuf JSON form of a Duration, such as "1.250s".</summary>
    private static TimeSpan AgeOf(JsonElement view, string name) =>
        TimeSpan.FromSeconds(double.Parse(Member(view, name)!.Value.GetProperty("age").GetString()!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));
}
