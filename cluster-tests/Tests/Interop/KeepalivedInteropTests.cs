using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 as the two routers of one virtual router, over VRRPv3 and VRRPv2,
/// by multicast and by unicast. Each case checks that either side takes over from the other after a crash, and
/// that our node preempts keepalived when it returns with the higher priority.
/// </summary>
public sealed class KeepalivedInteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    private const byte HighPriority = 150;
    private const byte KeepalivedPriority = 100;
    private const byte LowPriority = 50;
    private const string Password = "tandem1";

    private static readonly TimeSpan AdvertisementInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The limit on a process start: dotnet startup, the HTTPS listener and the first Master_Down_Interval.</summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    private static readonly string VirtualAddress = $"{LabTopology.VirtualAddress}/{LabTopology.PrefixLength}";

    /// <summary>Master_Down_Interval (RFC 9568 §6.1, RFC 3768 §6.1) with a 1 s interval: 3 s plus Skew_Time.</summary>
    private static TimeSpan MasterDownInterval(byte priority) => (AdvertisementInterval * 3) + (AdvertisementInterval * (256 - priority) / 256);

    /// <summary>The takeover bound of every case: the backup's Master_Down_Interval plus 1 s to add the address.</summary>
    private static TimeSpan TakeoverBound(byte backupPriority) => MasterDownInterval(backupPriority) + TimeSpan.FromSeconds(1);

    [Theory(Timeout = 180_000)]
    [InlineData(3, false, 61)]
    [InlineData(3, true, 62)]
    [InlineData(2, false, 63)]
    [InlineData(2, true, 64)]
    public async Task Keepalived_TakeoverBothWays(int version, bool unicast, byte vrid)
    {
        await RequirePrerequisitesAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new InteropCase(lab, version, unicast, vrid);
        try
        {
            await run.ExecuteAsync(output, cancellationToken);
        }
        finally
        {
            await run.CleanUpAsync();
        }
    }

    private static async Task RequirePrerequisitesAsync()
    {
        var missing = new List<string>(await LabPrerequisites.FindMissingAsync(LabRequirements.Network | LabRequirements.Services | LabRequirements.Node));
        if (!File.Exists(KeepalivedInstance.ExecutablePath))
        {
            missing.Add($"{KeepalivedInstance.ExecutablePath} is missing; install it with: apt-get install keepalived");
        }

        if (missing.Count == 0)
        {
            return;
        }

        string reason = string.Join(" ", missing);
        if (LabGate.IsCi)
        {
            Assert.Fail($"CI=true, so this interoperability test must run, but: {reason}");
        }

        Assert.Skip(reason);
    }

    /// <summary>The steps of one matrix case, with the processes it started so that they can be removed.</summary>
    private sealed class InteropCase(ClusterLab lab, int version, bool unicast, byte vrid)
    {
        private readonly LabHost _ours = lab.Topology.NodeA;
        private readonly LabHost _theirs = lab.Topology.NodeB;
        private readonly string _tag = $"v{version}-{(unicast ? "unicast" : "multicast")}";
        private LabProcess? _node;
        private string? _nodeConfig;
        private KeepalivedInstance? _keepalived;

        public async Task ExecuteAsync(ITestOutputHelper output, CancellationToken cancellationToken)
        {
            // Our node with the higher priority becomes master and keepalived stays backup.
            var keepalivedConfig = new KeepalivedConfig(
                version,
                vrid,
                KeepalivedPriority,
                "eth0",
                VirtualAddress,
                unicast ? _theirs.Address : null,
                unicast ? [_ours.Address] : [],
                version == 2 ? Password : null);
            _keepalived = KeepalivedInstance.Start(lab, _theirs, keepalivedConfig, $"keepalived-{_tag}");
            StartNode("high", HighPriority, 1);
            await WaitForAsync("our node master and keepalived backup", OursOnlyAsync, StartupTimeout, cancellationToken);
            Assert.True(_keepalived.HasLoggedState("BACKUP"), _keepalived.Parent.Describe());

            // keepalived receives and accepts our adverts only if it stays backup past its Master_Down_Interval.
            await HoldAsync("keepalived stays backup while our node advertises", OursOnlyAsync, MasterDownInterval(KeepalivedPriority) + AdvertisementInterval, cancellationToken);

            // Our node crashes: keepalived takes over within its Master_Down_Interval + 1 s.
            TimeSpan keepalivedTakeover = await CrashOursAsync(cancellationToken);
            output.WriteLine($"{_tag}: keepalived took over in {keepalivedTakeover.TotalSeconds:0.00} s (bound {TakeoverBound(KeepalivedPriority).TotalSeconds:0.00} s)");
            Assert.True(keepalivedTakeover <= TakeoverBound(KeepalivedPriority), $"keepalived took {keepalivedTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{lab.DescribeProcesses()}");

            // Our node returns with the higher priority and preempts keepalived.
            long restart = TimeProvider.System.GetTimestamp();
            StartNode("high", HighPriority, 2);
            await WaitForAsync("our node preempting keepalived", OursOnlyAsync, StartupTimeout, cancellationToken);
            output.WriteLine($"{_tag}: our node preempted {TimeProvider.System.GetElapsedTime(restart).TotalSeconds:0.00} s after its start, including process startup");
            await HoldAsync("our node stays master", OursOnlyAsync, AdvertisementInterval * 2, cancellationToken);

            // Priorities reversed: keepalived is master and our node, now at the lower priority, stays backup.
            await CrashOursAsync(cancellationToken);
            StartNode("low", LowPriority, 3);
            await WaitForAsync(
                "our node started as backup",
                _ => Task.FromResult(_node!.ReadLogTail(500).Contains("started in state Backup", StringComparison.Ordinal)),
                StartupTimeout,
                cancellationToken);
            await HoldAsync("our node stays backup while keepalived advertises", TheirsOnlyAsync, MasterDownInterval(LowPriority) + AdvertisementInterval, cancellationToken);

            // keepalived crashes: our node takes over within its Master_Down_Interval + 1 s.
            long killed = TimeProvider.System.GetTimestamp();
            await _keepalived.KillHardAsync(cancellationToken);
            await WaitForAsync("our node taking over from keepalived", HasOursAsync, TakeoverBound(LowPriority) + TimeSpan.FromSeconds(5), cancellationToken);
            TimeSpan ourTakeover = TimeProvider.System.GetElapsedTime(killed);
            output.WriteLine($"{_tag}: our node took over in {ourTakeover.TotalSeconds:0.00} s (bound {TakeoverBound(LowPriority).TotalSeconds:0.00} s)");
            Assert.True(ourTakeover <= TakeoverBound(LowPriority), $"Our node took {ourTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{lab.DescribeProcesses()}");
            Assert.False(_node!.HasExited, _node.Describe());
        }

        /// <summary>Stops what this case started and removes the address keepalived left behind when it was killed.</summary>
        public async Task CleanUpAsync()
        {
            if (_node is { HasExited: false })
            {
                await _node.KillAndWaitAsync(TimeSpan.FromSeconds(10));
                await ReleaseAsync(CancellationToken.None);
            }

            if (_keepalived is { Parent.HasExited: false })
            {
                await _keepalived.KillHardAsync(CancellationToken.None);
            }

            if (await lab.Network.HasAddressAsync(_theirs, LabTopology.VirtualAddress, CancellationToken.None))
            {
                await CommandRunner.RunCheckedAsync("ip", ["-n", _theirs.Namespace, "addr", "del", VirtualAddress, "dev", "eth0"]);
            }
        }

        /// <summary>Kills our node with SIGKILL, runs the release command and returns how long keepalived took to hold the address.</summary>
        private async Task<TimeSpan> CrashOursAsync(CancellationToken cancellationToken)
        {
            long killed = TimeProvider.System.GetTimestamp();
            await _node!.KillAndWaitAsync(TimeSpan.FromSeconds(10));

            // systemd runs the release command after the process died (ExecStopPost); it overlaps the takeover.
            Task<CommandResult> release = ReleaseAsync(cancellationToken);
            await WaitForAsync("keepalived taking over", HasTheirsAsync, TakeoverBound(KeepalivedPriority) + TimeSpan.FromSeconds(5), cancellationToken);
            TimeSpan takeover = TimeProvider.System.GetElapsedTime(killed);

            CommandResult result = await release;
            Assert.True(result.Succeeded, $"'{result.CommandLine}' failed: {result.StandardError}");
            Assert.False(await HasOursAsync(cancellationToken), "The release command left the virtual address on our node.");
            return takeover;
        }

        private void StartNode(string role, byte priority, int start)
        {
            _nodeConfig = WriteNodeConfig(role, priority);
            _node = lab.StartProcess($"tandem-{_tag}-{start}", _ours.Namespace, LabPaths.DotnetHost, [lab.NodeAssemblyPath, "--config", _nodeConfig]);
        }

        private string WriteNodeConfig(string role, byte priority)
        {
            // The lab's node config with the VRRP settings of this case added.
            string basePath = NodeConfigFile.Write(lab.RunDirectory, lab.Topology, _ours, priority, new NodeSettings { VirtualRouterId = vrid }, lab.Certificate);
            JsonObject config = JsonNode.Parse(File.ReadAllText(basePath))!.AsObject();
            JsonObject vrrp = config["Vrrp"]!.AsObject();
            vrrp["Version"] = version;
            if (unicast)
            {
                vrrp["UnicastPeers"] = new JsonArray(_theirs.Address.ToString());
            }

            if (version == 2)
            {
                vrrp["AuthenticationPassword"] = Password;
            }

            string path = Path.Combine(lab.RunDirectory, $"tandem-{_tag}-{role}.json");
            File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return path;
        }

        private Task<CommandResult> ReleaseAsync(CancellationToken cancellationToken) =>
            CommandRunner.RunAsync(
                "ip",
                ["netns", "exec", _ours.Namespace, LabPaths.DotnetHost, lab.NodeAssemblyPath, "release", "--config", _nodeConfig!],
                TimeSpan.FromSeconds(30),
                cancellationToken);

        private Task<bool> HasOursAsync(CancellationToken cancellationToken) => lab.Network.HasAddressAsync(_ours, LabTopology.VirtualAddress, cancellationToken);

        private Task<bool> HasTheirsAsync(CancellationToken cancellationToken) => lab.Network.HasAddressAsync(_theirs, LabTopology.VirtualAddress, cancellationToken);

        private async Task<bool> OursOnlyAsync(CancellationToken cancellationToken) =>
            await HasOursAsync(cancellationToken) && !await HasTheirsAsync(cancellationToken);

        private async Task<bool> TheirsOnlyAsync(CancellationToken cancellationToken) =>
            await HasTheirsAsync(cancellationToken) && !await HasOursAsync(cancellationToken);

        private async Task WaitForAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
        {
            bool reached = await Poll.UntilAsync(condition, timeout, PollInterval, TimeProvider.System, cancellationToken);
            Assert.True(reached, $"{_tag}: timed out after {timeout.TotalSeconds:0.#} s waiting for {description}.{Environment.NewLine}{lab.DescribeProcesses(40)}");
        }

        /// <summary>Fails as soon as <paramref name="condition"/> is false at any poll during <paramref name="duration"/>.</summary>
        private async Task HoldAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan duration, CancellationToken cancellationToken)
        {
            bool broken = await Poll.UntilAsync(async token => !await condition(token), duration, PollInterval, TimeProvider.System, cancellationToken);
            Assert.False(broken, $"{_tag}: expected {description} for {duration.TotalSeconds:0.#} s, but it changed.{Environment.NewLine}{lab.DescribeProcesses(40)}");
        }
    }
}
