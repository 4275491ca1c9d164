using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Network;

/// <summary>The lab without the tandem nodes: network, Redis, backends, client, teardown.</summary>
public sealed class ClusterLabTests(ITestOutputHelper output)
{
    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 120_000)]
    public async Task Backends_ReachableFromClient()
    {
        await LabGate.RequireAsync(LabRequirements.Network | LabRequirements.Services);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;

        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            await lab.StartRedisAsync(cancellationToken);
            await lab.StartBackendsAsync(cancellationToken);

            foreach (LabHost backend in new[] { lab.Topology.Backend1, lab.Topology.Backend2 })
            {
                ProbeResult result = await lab.Client.GetHttpAsync(new IPEndPoint(backend.Address, LabTopology.BackendPort), "/hello", cancellationToken);

                Assert.True(result.Succeeded, $"{result.Failure}: {result.Detail}{Environment.NewLine}{lab.DescribeProcesses()}");
                Assert.Equal(backend.Name, result.Reply!.Backend);
                Assert.Equal(lab.Topology.Client.Address, result.Reply.PeerAddress);
                Assert.Null(result.Reply.XForwardedFor);
            }
        }

        await AssertNothingLeftAsync(lab);
    }

    [Fact(Timeout = 120_000)]
    public async Task Namespaces_HaveNoDefaultRoute()
    {
        await LabGate.RequireAsync(LabRequirements.Network);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;

        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            foreach (string ns in lab.Topology.AllNamespaces)
            {
                CommandResult routes = await CommandRunner.RunCheckedAsync("ip", ["-n", ns, "-4", "route", "show", "default"], cancellationToken: cancellationToken);
                Assert.True(routes.StandardOutput.Trim().Length == 0, $"{ns} has a default route: {routes.StandardOutput}");
            }

            // No host exists outside the lab range, so the connection fails at once or times out.
            ProbeResult outside = await lab.Client.GetHttpAsync(new IPEndPoint(IPAddress.Parse("203.0.113.1"), 80), "/", cancellationToken);
            Assert.False(outside.Succeeded);
        }

        await AssertNothingLeftAsync(lab);
    }

    [Fact(Timeout = 120_000)]
    public async Task Teardown_KillsRunningProcesses()
    {
        await LabGate.RequireAsync(LabRequirements.Network);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;

        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        IReadOnlyList<int> pids = [];
        await using (lab)
        {
            // A shell with a child that the lab did not start itself: teardown must find both by namespace.
            LabProcess shell = lab.StartProcess("sleeper", lab.Topology.Client.Namespace, "sh", ["-c", "sleep 600 & wait", lab.RunDirectory]);
            bool bothRunning = await Poll.UntilAsync(
                async _ => (pids = await LabNetwork.ListNamespacePidsAsync(lab.Topology.Client.Namespace)).Count == 2,
                TimeSpan.FromSeconds(10),
                TimeSpan.FromMilliseconds(20),
                TimeProvider.System,
                cancellationToken);
            Assert.True(bothRunning, $"the namespace holds pids [{string.Join(", ", pids)}], expected the shell {shell.Pid} and its child");
            Assert.Contains(shell.Pid, pids);

            // Every interface of the run lives in a lab namespace, none in the namespace of the test.
            Assert.DoesNotContain(lab.Topology.NamespacePrefix, await ListHostInterfacesAsync(cancellationToken));
        }

        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"pid {pid} survived the teardown"));
        await AssertNothingLeftAsync(lab);
    }

    private static async Task AssertNothingLeftAsync(ClusterLab lab)
    {
        Assert.Empty(lab.TeardownProblems);
        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            // Field 3 of /proc/PID/stat is the state; a zombie has exited and only waits to be reaped.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<string> ListHostInterfacesAsync(CancellationToken cancellationToken)
    {
        CommandResult links = await CommandRunner.RunCheckedAsync("ip", ["-o", "link", "show"], cancellationToken: cancellationToken);
        return links.StandardOutput;
    }
}
