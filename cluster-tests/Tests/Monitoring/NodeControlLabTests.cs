using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Drill;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Monitoring;

/// <summary>
/// Runs the control calls with tandemctl from the client namespace against two nodes in the lab: a planned switchover
/// under client load, maintenance mode, and calls without valid credentials. Each node's management listener allows
/// only the client's address and reads the bearer token from a file in the run directory.
/// </summary>
public sealed class NodeControlLabTests(ITestOutputHelper output)
{
    private const int Switchovers = 3;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Client load kept up after each switchover, so requests to the new master are measured too.</summary>
    private static readonly TimeSpan ObserveAfterSwitchover = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Client limits for the switchover test. The old master drops the SYNs of new connections from just before its
    /// priority-0 advert until the new master announces the addresses, and the client's kernel retransmits a dropped
    /// SYN after 1 s and again 2 s later. Real clients wait that long (libcurl's CURLOPT_CONNECTTIMEOUT defaults to
    /// 300 s), so the lab client's default 300 ms, which suits the failover drill, would count a retransmission as a
    /// failure. The connect limit of 5 s also covers the second retransmission, at 3 s, for a machine so busy that the
    /// new master announces the addresses more than 1 s after the SYNs start being dropped.
    /// </summary>
    private static readonly LabClientTimeouts SwitchoverClientTimeouts = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(7));

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 240_000)]
    public async Task Switchover_UnderLoad_SwapsRolesInOrder()
    {
        await RequireLabAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var options = new ClusterLabOptions { ClientTimeouts = SwitchoverClientTimeouts };
        ClusterLab lab = await ClusterLab.CreateAsync(options, _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            string tokenFile = WriteTokenFile(lab, "control.token", "9f3c1e0a7b5d4c2e8f6a1b3c5d7e9f01");
            await StartClusterAsync(lab, tokenFile, cancellationToken);

            // Refused calls first, while node-a is master, so a refused call that did hand over would show below.
            string wrongToken = WriteTokenFile(lab, "wrong.token", "00000000000000000000000000000000");
            CommandResult unauthenticated = await RunTandemctlAsync(lab, ["switchover", "--node", Endpoint(topology.NodeA), "--token-file", wrongToken], cancellationToken);
            Assert.Equal(1, unauthenticated.ExitCode);
            Assert.Contains("not authenticated", unauthenticated.StandardError, StringComparison.Ordinal);

            CommandResult denied = await RunTandemctlAsync(
                lab, ["switchover", "--node", Endpoint(topology.NodeA), "--token-file", tokenFile], cancellationToken, topology.NodeB.Namespace);
            Assert.Equal(1, denied.ExitCode);
            Assert.Contains("permission denied", denied.StandardError, StringComparison.Ordinal);

            CommandResult onBackup = await RunTandemctlAsync(lab, ["switchover", "--node", Endpoint(topology.NodeB), "--token-file", tokenFile], cancellationToken);
            Assert.Equal(1, onBackup.ExitCode);
            Assert.Contains("not master", onBackup.StandardError, StringComparison.Ordinal);
            Assert.Equal([topology.NodeA], await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken));

            LabProcess watchA = StartWatch(lab, topology.NodeA);
            LabProcess watchB = StartWatch(lab, topology.NodeB);

            // The first requests of a process pay for JIT, TLS and backend connection setup, which would show as the
            // slowest requests of a switchover. The proxy listens on every address, so each node is warmed through its own.
            foreach (LabHost node in topology.Nodes)
            {
                var direct = new IPEndPoint(node.Address, LabTopology.ProxyPort);
                int succeeded = 0;
                for (int attempt = 0; attempt < 20 && succeeded < 5; attempt++)
                {
                    succeeded += (await lab.Client.GetHttpsAsync(direct, "/warmup", null, cancellationToken)).Succeeded ? 1 : 0;
                }

                Assert.True(succeeded == 5, $"Only {succeeded} of the warm-up requests to {node.Name} succeeded.");
            }

            // Client load through the virtual address for the whole series, bounded by RequestLoad's limits.
            var load = new RequestLoad(lab.Client, lab.VirtualEndpoint, TimeProvider.System);
            using var stopLoad = new CancellationTokenSource();
            Task<IReadOnlyList<RequestOutcome>> loadTask = load.RunAsync(stopLoad.Token, cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);

            var runs = new List<(LabHost From, LabHost To, TimeSpan CalledAt, TimeSpan ReturnedAt)>();
            LabHost master = topology.NodeA;
            for (int run = 0; run < Switchovers; run++)
            {
                LabHost backup = topology.OtherNode(master);
                TimeSpan calledAt = load.Now;
                CommandResult switchover = await RunTandemctlAsync(lab, ["switchover", "--node", Endpoint(master), "--token-file", tokenFile], cancellationToken);
                TimeSpan returnedAt = load.Now;
                output.WriteLine($"switchover {run + 1}: {switchover.StandardOutput.Trim()} {switchover.StandardError.Trim()}");
                Assert.True(switchover.ExitCode == 0, $"Switchover {run + 1} from {master.Name} failed:{Environment.NewLine}{switchover.StandardError}");
                Assert.Contains($"handed over to {backup.Address}", switchover.StandardOutput, StringComparison.Ordinal);

                runs.Add((master, backup, calledAt, returnedAt));
                await Task.Delay(ObserveAfterSwitchover, cancellationToken);

                // The old master keeps the addresses until its connections have been closed for a while, at most 2 s.
                bool handedOver = await Poll.UntilAsync(
                    async token => (await lab.FindVirtualAddressHoldersAsync(topology.Nodes, token)).SequenceEqual([backup]),
                    TimeSpan.FromSeconds(5), PollInterval, TimeProvider.System, cancellationToken);
                Assert.True(handedOver, $"{backup.Name} was not the only holder of the virtual address 5 s after switchover {run + 1}.");
                master = backup;
            }

            await stopLoad.CancelAsync();
            IReadOnlyList<RequestOutcome> outcomes = await loadTask;

            ReportRuns(runs, outcomes);

            // The old master accepts no new connection and has none open when it sends the priority-0 advert, so no
            // connection spans the move of the client's ARP entry, and no request may fail.
            RequestOutcome[] failed = outcomes.Where(o => !o.Succeeded).ToArray();
            Assert.True(
                failed.Length == 0,
                $"{failed.Length} of {outcomes.Count} requests failed: " +
                string.Join(", ", failed.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Failure} at {f.Started.TotalMilliseconds:0} ms"))));
            Assert.Equal(topology.NodeA.Address, outcomes[0].ServedBy);
            Assert.Equal(master.Address, outcomes[^1].ServedBy);

            // Each node's watch stream shows its own transitions in order, with the switchover as the reason of each
            // step down.
            IReadOnlyList<(string From, string To, string Reason)> transitionsA = await ReadTransitionsAsync(watchA, expected: 3, cancellationToken);
            IReadOnlyList<(string From, string To, string Reason)> transitionsB = await ReadTransitionsAsync(watchB, expected: 3, cancellationToken);
            Assert.Equal(
                [("VRRP_STATE_MASTER", "VRRP_STATE_BACKUP"), ("VRRP_STATE_BACKUP", "VRRP_STATE_MASTER"), ("VRRP_STATE_MASTER", "VRRP_STATE_BACKUP")],
                transitionsA.Select(t => (t.From, t.To)));
            Assert.Equal(
                [("VRRP_STATE_BACKUP", "VRRP_STATE_MASTER"), ("VRRP_STATE_MASTER", "VRRP_STATE_BACKUP"), ("VRRP_STATE_BACKUP", "VRRP_STATE_MASTER")],
                transitionsB.Select(t => (t.From, t.To)));
            Assert.All(transitionsA.Where(t => t.To == "VRRP_STATE_BACKUP"), t => Assert.StartsWith("switchover requested by", t.Reason, StringComparison.Ordinal));
            Assert.All(transitionsB.Where(t => t.To == "VRRP_STATE_BACKUP"), t => Assert.StartsWith("switchover requested by", t.Reason, StringComparison.Ordinal));
            Assert.All(transitionsB.Where(t => t.To == "VRRP_STATE_MASTER"), t => Assert.Contains("priority 0", t.Reason, StringComparison.Ordinal));
        }

        Assert.Empty(lab.TeardownProblems);
    }

    [Fact(Timeout = 180_000)]
    public async Task Maintenance_BackupDoesNotTakeOverUntilResumed()
    {
        await RequireLabAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            string tokenFile = WriteTokenFile(lab, "control.token", "4b8e2d6f0a1c3e5f7a9b2d4f6e8a0c1e");
            await StartClusterAsync(lab, tokenFile, cancellationToken);

            var (priority, loweredBy) = await ReadEffectivePriorityAsync(lab, topology.NodeB, cancellationToken);
            Assert.Equal(lab.Options.Nodes.NodeBPriority, priority);
            Assert.Empty(loweredBy);

            CommandResult enter = await RunTandemctlAsync(lab, ["maintenance", "on", "--node", Endpoint(topology.NodeB), "--token-file", tokenFile], cancellationToken);
            Assert.True(enter.ExitCode == 0, enter.StandardError);
            Assert.Contains("entered maintenance", enter.StandardOutput, StringComparison.Ordinal);
            Assert.True(await ReadMaintenanceAsync(lab, topology.NodeB, cancellationToken));
            (priority, loweredBy) = await ReadEffectivePriorityAsync(lab, topology.NodeB, cancellationToken);
            Assert.Equal(0, priority);
            Assert.Equal(["maintenance"], loweredBy);

            // node-a stops with SIGTERM and sends priority 0, which would make node-b master after Skew_Time.
            LabProcess nodeA = lab.NodeProcess(topology.NodeA);
            nodeA.Terminate();
            await nodeA.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);

            // Two Master_Down_Intervals (about 3.6 s each at priority 100) without a master.
            await Task.Delay(TimeSpan.FromSeconds(8), cancellationToken);
            Assert.Empty(await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken));
            Assert.Equal("VRRP_STATE_BACKUP", await ReadStateAsync(lab, topology.NodeB, cancellationToken));

            CommandResult resume = await RunTandemctlAsync(lab, ["maintenance", "off", "--node", Endpoint(topology.NodeB), "--token-file", tokenFile], cancellationToken);
            Assert.True(resume.ExitCode == 0, resume.StandardError);
            Assert.Contains("left maintenance", resume.StandardOutput, StringComparison.Ordinal);

            bool tookOver = await Poll.UntilAsync(
                async token => (await lab.FindVirtualAddressHoldersAsync([topology.NodeB], token)).Count == 1,
                TimeSpan.FromSeconds(10), PollInterval, TimeProvider.System, cancellationToken);
            Assert.True(tookOver, $"node-b did not take over within 10 s of leaving maintenance.{Environment.NewLine}{lab.DescribeProcesses()}");
        }

        Assert.Empty(lab.TeardownProblems);
    }

    private static Task RequireLabAsync() => ManagementLab.RequireAsync();

    private void ReportRuns(List<(LabHost From, LabHost To, TimeSpan CalledAt, TimeSpan ReturnedAt)> runs, IReadOnlyList<RequestOutcome> outcomes)
    {
        // tandemctl's own start takes seconds on a busy machine, so the switchover is timed by the responses: the gap
        // between the old master's last response and the new master's first one.
        for (int run = 0; run < runs.Count; run++)
        {
            var (from, to, calledAt, returnedAt) = runs[run];
            TimeSpan runEnd = run + 1 < runs.Count ? runs[run + 1].CalledAt : TimeSpan.MaxValue;
            RequestOutcome[] inRun = outcomes.Where(o => o.Started >= calledAt && o.Started < runEnd).ToArray();
            RequestOutcome? lastFromOld = inRun.LastOrDefault(o => o.Succeeded && from.Address.Equals(o.ServedBy));
            RequestOutcome? firstFromNew = inRun.FirstOrDefault(o => o.Succeeded && to.Address.Equals(o.ServedBy));
            string gap = lastFromOld is null || firstFromNew is null
                ? "unknown"
                : string.Create(CultureInfo.InvariantCulture, $"{(firstFromNew.Completed - lastFromOld.Completed).TotalMilliseconds:0} ms");
            int failedInRun = inRun.Count(o => !o.Succeeded);
            TimeSpan maxLatency = inRun.Length == 0 ? TimeSpan.Zero : inRun.Max(o => o.Completed - o.Started);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{from.Name} -> {to.Name}: tandemctl ran {(returnedAt - calledAt).TotalMilliseconds:0} ms, last response from {from.Name} to first from {to.Name}: {gap}, " +
                $"max request latency: {maxLatency.TotalMilliseconds:0} ms, failed requests: {failedInRun}"));
        }

        output.WriteLine($"requests: {outcomes.Count}, failed: {outcomes.Count(o => !o.Succeeded)}");
        foreach (RequestOutcome failure in outcomes.Where(o => !o.Succeeded))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"failed: {failure.Failure} at {failure.Started.TotalMilliseconds:0} ms"));
        }
    }

    private static string WriteTokenFile(ClusterLab lab, string name, string token)
    {
        string path = Path.Combine(lab.RunDirectory, name);
        File.WriteAllText(path, token + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private async Task StartClusterAsync(ClusterLab lab, string tokenFile, CancellationToken cancellationToken)
    {
        LabTopology topology = lab.Topology;
        await lab.StartRedisAsync(cancellationToken);
        await lab.StartBackendsAsync(cancellationToken);
        StartNode(lab, topology.NodeA, lab.Options.Nodes.NodeAPriority, tokenFile);
        StartNode(lab, topology.NodeB, lab.Options.Nodes.NodeBPriority, tokenFile);

        bool settled = await Poll.UntilAsync(
            async token => await ReadStateAsync(lab, topology.NodeA, token) == "VRRP_STATE_MASTER"
                && await ReadStateAsync(lab, topology.NodeB, token) == "VRRP_STATE_BACKUP"
                && (await lab.FindVirtualAddressHoldersAsync(topology.Nodes, token)).Count == 1,
            SettleTimeout, PollInterval, TimeProvider.System, cancellationToken);
        Assert.True(settled, $"node-a did not become master with node-b as backup within {SettleTimeout}.{Environment.NewLine}{lab.DescribeProcesses()}");
    }

    private static void StartNode(ClusterLab lab, LabHost node, byte priority, string tokenFile) =>
        ManagementLab.StartNode(lab, node, priority, metricsPort: 0, $"--Management:ControlTokenFile={tokenFile}");

    private static LabProcess StartWatch(ClusterLab lab, LabHost node) =>
        lab.StartProcess(
            $"watch-{node.Name}", lab.Topology.Client.Namespace, LabPaths.DotnetHost,
            [TandemctlAssembly, "watch", "--node", Endpoint(node), "--json"]);

    /// <summary>Reads the state changes from a watcher's output, waiting up to 5 s for <paramref name="expected"/> of them.</summary>
    private static async Task<IReadOnlyList<(string From, string To, string Reason)>> ReadTransitionsAsync(
        LabProcess watcher, int expected, CancellationToken cancellationToken)
    {
        List<(string From, string To, string Reason)> transitions = [];
        await Poll.UntilAsync(
            _ =>
            {
                transitions = ParseTransitions(File.ReadAllLines(watcher.LogPath));
                return Task.FromResult(transitions.Count >= expected);
            },
            TimeSpan.FromSeconds(5), PollInterval, TimeProvider.System, cancellationToken);
        return transitions;
    }

    private static List<(string From, string To, string Reason)> ParseTransitions(IEnumerable<string> lines)
    {
        var transitions = new List<(string From, string To, string Reason)>();
        foreach (string line in lines.Where(l => l.Contains("\"stateChanged\"", StringComparison.Ordinal)))
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement transition = document.RootElement.GetProperty("stateChanged").GetProperty("transition");
            transitions.Add((
                transition.GetProperty("from").GetString()!,
                transition.GetProperty("to").GetString()!,
                transition.GetProperty("reason").GetString()!));
        }

        return transitions;
    }

    /// <summary>Returns the VRRP state of <paramref name="node"/>, or null while it does not respond.</summary>
    private static async Task<string?> ReadStateAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken) =>
        await ManagementLab.ReadStatusJsonAsync(lab, node, "status", cancellationToken) is { } status
            ? status.GetProperty("virtualRouters")[0].GetProperty("state").GetString()
            : null;

    private static async Task<bool> ReadMaintenanceAsync(ClusterLab lab, LabHost node, CancellationToken cancellationToken)
    {
        CommandResult result = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(node), "--json", "--timeout", "2"], cancellationToken);
        Assert.True(result.ExitCode == 0, result.StandardError);
        using JsonDocument document = JsonDocument.Parse(result.StandardOutput);
        JsonElement router = document.RootElement[0].GetProperty("status").GetProperty("virtualRouters")[0];

        // The JSON formatter leaves out fields with their default value, false here.
        return router.TryGetProperty("maintenance", out JsonElement maintenance) && maintenance.GetBoolean();
    }

    private static async Task<(int Priority, string[] LoweredBy)> ReadEffectivePriorityAsync(
        ClusterLab lab, LabHost node, CancellationToken cancellationToken)
    {
        JsonElement status = await ManagementLab.ReadStatusJsonAsync(lab, node, "status", cancellationToken)
            ?? throw new InvalidOperationException($"{node.Name} did not answer tandemctl status.");
        JsonElement router = status.GetProperty("virtualRouters")[0];

        // The JSON formatter leaves out a priority of 0 and an empty list.
        int priority = router.TryGetProperty("effectivePriority", out JsonElement value) ? value.GetInt32() : 0;
        string[] loweredBy = router.TryGetProperty("priorityLoweredBy", out JsonElement reasons)
            ? [.. reasons.EnumerateArray().Select(reason => reason.GetString()!)]
            : [];
        return (priority, loweredBy);
    }

    private static Task<CommandResult> RunTandemctlAsync(
        ClusterLab lab, IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? namespaceName = null) =>
        ManagementLab.RunTandemctlAsync(lab, arguments, cancellationToken, namespaceName);

    private static string Endpoint(LabHost node) => ManagementLab.Endpoint(node);

    private static string TandemctlAssembly => ManagementLab.TandemctlAssembly;
}
