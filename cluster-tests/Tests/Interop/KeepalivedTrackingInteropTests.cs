using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 over VRRPv3 multicast: preemption turned off on both sides, and
/// tracked conditions on our master that hand the address to keepalived. Both cases share one lab network.
/// </summary>
public sealed class KeepalivedTrackingInteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    private const byte HighPriority = 150;
    private const byte KeepalivedPriority = 100;

    /// <summary>Weight of the tracked file that lowers our node below keepalived: 150 - 100 = 50.</summary>
    private const int LoweringWeight = 100;

    private static readonly TimeSpan AdvertisementInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The node's default Vrrp:TrackIntervalMilliseconds: a tracked file is noticed within this time.</summary>
    private static readonly TimeSpan TrackInterval = TimeSpan.FromSeconds(1);

    /// <summary>The limit on a process start: dotnet startup, the HTTPS listener and the first Master_Down_Interval.</summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    private static readonly string VirtualAddress = $"{LabTopology.VirtualAddress}/{LabTopology.PrefixLength}";

    /// <summary>Skew_Time (RFC 9568 §6.1) with a 1 s interval.</summary>
    private static TimeSpan SkewTime(byte priority) => AdvertisementInterval * (256 - priority) / 256;

    /// <summary>Master_Down_Interval (RFC 9568 §6.1) with a 1 s interval: 3 s plus Skew_Time.</summary>
    private static TimeSpan MasterDownInterval(byte priority) => (AdvertisementInterval * 3) + SkewTime(priority);

    [Fact(Timeout = 120_000)]
    public async Task NoPreempt_RestartedHigherNodeStaysBackup()
    {
        await RequirePrerequisitesAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new InteropRun(lab, 65, "nopreempt");
        try
        {
            // Our node starts first and becomes master, because a backup without Preempt still takes over from no master.
            run.StartNode(HighPriority, preempt: false, track: null, start: 1);
            await run.WaitForAsync("our node master", run.OursOnlyAsync, StartupTimeout, cancellationToken);
            run.StartKeepalived(noPreempt: true);
            await run.HoldAsync("keepalived stays backup", run.OursOnlyAsync, MasterDownInterval(KeepalivedPriority) + AdvertisementInterval, cancellationToken);

            // Our node crashes and keepalived takes over.
            await run.CrashOursAsync(cancellationToken);
            await run.WaitForAsync("keepalived taking over", run.TheirsOnlyAsync, MasterDownInterval(KeepalivedPriority) + TimeSpan.FromSeconds(6), cancellationToken);

            // Our node returns with the higher priority but Preempt false, so it hears keepalived and stays backup.
            run.StartNode(HighPriority, preempt: false, track: null, start: 2);
            await run.WaitForLogAsync("started in state Backup", cancellationToken);
            await run.HoldAsync("keepalived stays master", run.TheirsOnlyAsync, MasterDownInterval(HighPriority) + (AdvertisementInterval * 2), cancellationToken);
            Assert.DoesNotContain("-> Master", run.NodeLog, StringComparison.Ordinal);
        }
        finally
        {
            await run.CleanUpAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task TrackedFailure_KeepalivedTakesOver()
    {
        await RequirePrerequisitesAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new InteropRun(lab, 66, "track");
        string lowerFile = Path.Combine(lab.RunDirectory, "track-66-lower");
        string faultFile = Path.Combine(lab.RunDirectory, "track-66-fault");
        try
        {
            run.StartKeepalived(noPreempt: false);
            run.StartNode(HighPriority, preempt: true, track: [($"file:{lowerFile}", LoweringWeight), ($"file:{faultFile}", 0)], start: 1);
            await run.WaitForAsync("our node master", run.OursOnlyAsync, StartupTimeout, cancellationToken);

            // The weighted failure lowers our adverts to 50, so keepalived (100, preempt) lets its timer run out.
            long failed = TimeProvider.System.GetTimestamp();
            await File.WriteAllTextAsync(lowerFile, "", cancellationToken);
            TimeSpan lowerBound = TrackInterval + MasterDownInterval(KeepalivedPriority) + TimeSpan.FromSeconds(1);
            await run.WaitForAsync("keepalived preempting our lowered node", run.TheirsOnlyAsync, lowerBound + TimeSpan.FromSeconds(5), cancellationToken);
            TimeSpan lowerTakeover = TimeProvider.System.GetElapsedTime(failed);
            output.WriteLine($"keepalived preempted our lowered master in {lowerTakeover.TotalSeconds:0.00} s (bound {lowerBound.TotalSeconds:0.00} s)");
            Assert.True(lowerTakeover <= lowerBound, $"keepalived took {lowerTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{lab.DescribeProcesses()}");

            // Recovery: our node is back at 150 and preempts keepalived.
            File.Delete(lowerFile);
            TimeSpan backBound = TrackInterval + MasterDownInterval(HighPriority) + TimeSpan.FromSeconds(1);
            await run.WaitForAsync("our node preempting keepalived after recovery", run.OursOnlyAsync, backBound + TimeSpan.FromSeconds(5), cancellationToken);

            // A fault (weight 0): our master sends priority 0, so keepalived takes over after Skew_Time alone.
            failed = TimeProvider.System.GetTimestamp();
            await File.WriteAllTextAsync(faultFile, "1", cancellationToken);
            TimeSpan faultBound = TrackInterval + SkewTime(KeepalivedPriority) + TimeSpan.FromSeconds(1);
            await run.WaitForAsync("keepalived taking over from our faulted node", run.TheirsOnlyAsync, faultBound + TimeSpan.FromSeconds(5), cancellationToken);
            TimeSpan faultTakeover = TimeProvider.System.GetElapsedTime(failed);
            output.WriteLine($"keepalived took over from our faulted master in {faultTakeover.TotalSeconds:0.00} s (bound {faultBound.TotalSeconds:0.00} s)");
            Assert.True(faultTakeover <= faultBound, $"keepalived took {faultTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{lab.DescribeProcesses()}");
            Assert.Contains("effective priority 150 -> 50", run.NodeLog, StringComparison.Ordinal);
            Assert.Contains("entered fault", run.NodeLog, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(lowerFile);
            File.Delete(faultFile);
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

    /// <summary>The processes of one case on node A (ours) and node B (keepalived), so that they can be removed.</summary>
    private sealed class InteropRun(ClusterLab lab, byte vrid, string tag)
    {
        private readonly LabHost _ours = lab.Topology.NodeA;
        private readonly LabHost _theirs = lab.Topology.NodeB;
        private LabProcess? _node;
        private string? _nodeConfig;
        private KeepalivedInstance? _keepalived;

        public string NodeLog => _node?.ReadLogTail(2000) ?? "";

        public void StartKeepalived(bool noPreempt)
        {
            var config = new KeepalivedConfig(3, vrid, KeepalivedPriority, "eth0", VirtualAddress, null, [], null) { NoPreempt = noPreempt };
            _keepalived = KeepalivedInstance.Start(lab, _theirs, config, $"keepalived-{tag}");
        }

        public void StartNode(byte priority, bool preempt, (string Condition, int Weight)[]? track, int start)
        {
            string basePath = NodeConfigFile.Write(lab.RunDirectory, lab.Topology, _ours, priority, new NodeSettings { VirtualRouterId = vrid, Preempt = preempt }, lab.Certificate);
            JsonObject config = JsonNode.Parse(File.ReadAllText(basePath))!.AsObject();
            if (track is not null)
            {
                var entries = new JsonArray();
                foreach (var (condition, weight) in track)
                {
                    entries.Add(new JsonObject { ["Condition"] = condition, ["Weight"] = weight });
                }

                config["Vrrp"]!.AsObject()["Track"] = entries;
            }

            _nodeConfig = Path.Combine(lab.RunDirectory, $"tandem-{tag}-{start}.json");
            File.WriteAllText(_nodeConfig, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            _node = lab.StartProcess($"tandem-{tag}-{start}", _ours.Namespace, LabPaths.DotnetHost, [lab.NodeAssemblyPath, "--config", _nodeConfig]);
        }

        /// <summary>Kills our node with SIGKILL and runs the release command, as systemd's ExecStopPost would.</summary>
        public async Task CrashOursAsync(CancellationToken cancellationToken)
        {
            await _node!.KillAndWaitAsync(TimeSpan.FromSeconds(10));
            CommandResult result = await ReleaseAsync(cancellationToken);
            Assert.True(result.Succeeded, $"'{result.CommandLine}' failed: {result.StandardError}");
        }

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

        public async Task<bool> OursOnlyAsync(CancellationToken cancellationToken) =>
            await lab.Network.HasAddressAsync(_ours, LabTopology.VirtualAddress, cancellationToken)
            && !await lab.Network.HasAddressAsync(_theirs, LabTopology.VirtualAddress, cancellationToken);

        public async Task<bool> TheirsOnlyAsync(CancellationToken cancellationToken) =>
            await lab.Network.HasAddressAsync(_theirs, LabTopology.VirtualAddress, cancellationToken)
            && !await lab.Network.HasAddressAsync(_ours, LabTopology.VirtualAddress, cancellationToken);

        public Task WaitForLogAsync(string text, CancellationToken cancellationToken) =>
            WaitForAsync($"'{text}' in our node's log", _ => Task.FromResult(NodeLog.Contains(text, StringComparison.Ordinal)), StartupTimeout, cancellationToken);

        public async Task WaitForAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
        {
            bool reached = await Poll.UntilAsync(condition, timeout, PollInterval, TimeProvider.System, cancellationToken);
            Assert.True(reached, $"{tag}: timed out after {timeout.TotalSeconds:0.#} s waiting for {description}.{Environment.NewLine}{lab.DescribeProcesses(40)}");
        }

        /// <summary>Fails as soon as <paramref name="condition"/> is false at any poll during <paramref name="duration"/>.</summary>
        public async Task HoldAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan duration, CancellationToken cancellationToken)
        {
            bool broken = await Poll.UntilAsync(async token => !await condition(token), duration, PollInterval, TimeProvider.System, cancellationToken);
            Assert.False(broken, $"{tag}: expected {description} for {duration.TotalSeconds:0.#} s, but it changed.{Environment.NewLine}{lab.DescribeProcesses(40)}");
        }

        private Task<CommandResult> ReleaseAsync(CancellationToken cancellationToken) =>
            CommandRunner.RunAsync(
                "ip",
                ["netns", "exec", _ours.Namespace, LabPaths.DotnetHost, lab.NodeAssemblyPath, "release", "--config", _nodeConfig!],
                TimeSpan.FromSeconds(30),
                cancellationToken);
    }
}
