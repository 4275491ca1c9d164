using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 as the two routers of one VRRPv3 virtual router over IPv6, by
/// multicast to ff02::12 and by unicast between link-local addresses. Each case checks that either side takes over
/// from the other after a crash and that our node preempts keepalived when it returns with the higher priority.
/// tshark decodes our adverts and neighbour advertisements from the bridge with correct checksums.
/// </summary>
public sealed partial class KeepalivedIpv6InteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    private const byte HighPriority = 150;
    private const byte KeepalivedPriority = 100;
    private const byte LowPriority = 50;

    /// <summary>Our adverts to capture; three arrive in about 3 s.</summary>
    private const int CapturedAdverts = 3;

    /// <summary>The neighbour advertisements of one takeover: 5 rounds (the default count) for each of the 2 addresses.</summary>
    private const int CapturedNeighborAdvertisements = 10;

    private static readonly TimeSpan AdvertisementInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The limit on a process start: dotnet startup, the HTTPS listener and the first Master_Down_Interval.</summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The fixed link-local addresses of the two routers' eth0, the sources of their adverts.</summary>
    private static readonly IPAddress OurLinkLocal = IPAddress.Parse("fe80::a");
    private static readonly IPAddress TheirLinkLocal = IPAddress.Parse("fe80::b");

    /// <summary>Master_Down_Interval (RFC 9568 §6.1) with a 1 s interval: 3 s plus Skew_Time.</summary>
    private static TimeSpan MasterDownInterval(byte priority) => (AdvertisementInterval * 3) + (AdvertisementInterval * (256 - priority) / 256);

    /// <summary>The takeover bound of every case: the backup's Master_Down_Interval plus 1 s to add the addresses.</summary>
    private static TimeSpan TakeoverBound(byte backupPriority) => MasterDownInterval(backupPriority) + TimeSpan.FromSeconds(1);

    [Theory(Timeout = 180_000)]
    [InlineData(false, 65)]
    [InlineData(true, 66)]
    public async Task Keepalived_Ipv6TakeoverBothWays(bool unicast, byte vrid)
    {
        await RequirePrerequisitesAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new Ipv6Case(lab, unicast, vrid, output);
        try
        {
            await run.ExecuteAsync(cancellationToken);
        }
        finally
        {
            await run.CleanUpAsync();
        }
    }

    private static async Task RequirePrerequisitesAsync()
    {
        var missing = new List<string>(await LabPrerequisites.FindMissingAsync(LabRequirements.Network | LabRequirements.Services | LabRequirements.Node | LabRequirements.Capture));
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

    [GeneratedRegex(@"^Frame \d+:", RegexOptions.Multiline)]
    private static partial Regex FrameHeader();

    /// <summary>The steps of one case, with the processes it started so that they can be removed.</summary>
    private sealed class Ipv6Case(ClusterLab lab, bool unicast, byte vrid, ITestOutputHelper output)
    {
        private readonly LabHost _ours = lab.Topology.NodeA;
        private readonly LabHost _theirs = lab.Topology.NodeB;
        private readonly string _tag = $"v3-ipv6-{(unicast ? "unicast" : "multicast")}";

        /// <summary>The virtual router's link-local address, first in the list as RFC 9568 §5.2.9 requires.</summary>
        private readonly IPAddress _linkLocalVip = IPAddress.Parse($"fe80::1:{vrid:x}");
        private readonly IPAddress _globalVip = IPAddress.Parse($"2001:db8::{vrid:x}");
        private LabProcess? _node;
        private string? _nodeConfig;
        private KeepalivedInstance? _keepalived;

        public async Task ExecuteAsync(CancellationToken cancellationToken)
        {
            await Ipv6LabLink.EnableAsync(_ours, OurLinkLocal, cancellationToken);
            await Ipv6LabLink.EnableAsync(_theirs, TheirLinkLocal, cancellationToken);

            // Our node with the higher priority becomes master and keepalived stays backup.
            var keepalivedConfig = new KeepalivedConfig(
                3,
                vrid,
                KeepalivedPriority,
                "eth0",
                $"{_linkLocalVip}/64",
                unicast ? TheirLinkLocal : null,
                unicast ? [OurLinkLocal] : [],
                null)
            {
                MoreVirtualAddresses = [$"{_globalVip}/64"],

                // Without it keepalived 2.2.7 sends unicast IPv6 adverts with hop limit 64, and our node discards them.
                UnicastTtl = unicast ? 255 : null,
            };
            _keepalived = KeepalivedInstance.Start(lab, _theirs, keepalivedConfig, $"keepalived-{_tag}");

            // The capture starts before our node so that it captures the neighbour advertisements of the first takeover.
            // Solicited ones (flag 0x40 in the byte after the ICMPv6 checksum) are the kernel's replies to keepalived's
            // neighbour solicitations for our link-local address in unicast mode, so the filter leaves them out.
            string ourMac = await ReadMacAsync(_ours, cancellationToken);
            string capture = Path.Combine(lab.RunDirectory, $"{_tag}.pcap");
            LabProcess tcpdump = lab.StartProcess(
                $"tcpdump-{_tag}",
                lab.Topology.BridgeNamespace,
                "tcpdump",
                [
                    "-i", lab.Topology.BridgeName, "-n", "-U", "-Z", "root", "-c", (CapturedAdverts + CapturedNeighborAdvertisements).ToString(), "-w", capture,
                    $"(ip6 proto 112 and src host {OurLinkLocal}) or (ether src {ourMac} and icmp6 and ip6[40] == 136 and ip6[44] & 0x40 == 0)",
                ]);

            StartNode("high", HighPriority, 1);
            await WaitForAsync("our node master and keepalived backup", OursOnlyAsync, StartupTimeout, cancellationToken);
            Assert.True(_keepalived.HasLoggedState("BACKUP"), _keepalived.Parent.Describe());
            await AssertOurAddressesUsableAsync(cancellationToken);

            // keepalived receives and accepts our adverts only if it stays backup past its Master_Down_Interval.
            await HoldAsync("keepalived stays backup while our node advertises", OursOnlyAsync, MasterDownInterval(KeepalivedPriority) + AdvertisementInterval, cancellationToken);
            await CheckCaptureAsync(tcpdump, capture, ourMac, cancellationToken);

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

        /// <summary>Stops what this case started and removes the addresses keepalived left behind when it was killed.</summary>
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

            IReadOnlyDictionary<IPAddress, string> left = await Ipv6LabLink.ListAddressesAsync(_theirs, CancellationToken.None);
            foreach (IPAddress vip in new[] { _linkLocalVip, _globalVip }.Where(left.ContainsKey))
            {
                await CommandRunner.RunCheckedAsync("ip", ["-n", _theirs.Namespace, "-6", "addr", "del", $"{vip}/64", "dev", "eth0"]);
            }
        }

        /// <summary>
        /// Checks that both addresses are on our interface without Duplicate Address Detection, so usable at once:
        /// a tentative address could not be a source and would not reply to neighbour solicitations.
        /// </summary>
        private async Task AssertOurAddressesUsableAsync(CancellationToken cancellationToken)
        {
            IReadOnlyDictionary<IPAddress, string> addresses = await Ipv6LabLink.ListAddressesAsync(_ours, cancellationToken);
            foreach (IPAddress vip in new[] { _linkLocalVip, _globalVip })
            {
                Assert.True(addresses.TryGetValue(vip, out string? line), $"{vip} is missing on our node: {string.Join(" | ", addresses.Values)}");
                Assert.Contains("nodad", line, StringComparison.Ordinal);
                Assert.DoesNotContain("tentative", line, StringComparison.Ordinal);
            }
        }

        /// <summary>Waits for the capture of our adverts and neighbour advertisements and checks tshark's decoding of each.</summary>
        private async Task CheckCaptureAsync(LabProcess tcpdump, string capture, string ourMac, CancellationToken cancellationToken)
        {
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    await tcpdump.WaitForExitAsync(deadline.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Assert.Fail($"{_tag}: tcpdump captured fewer than {CapturedAdverts} adverts and {CapturedNeighborAdvertisements} neighbour advertisements from our node.{Environment.NewLine}{lab.DescribeProcesses()}");
                }
            }

            Assert.True(tcpdump.ExitCode == 0, tcpdump.Describe());
            CommandResult tshark = await CommandRunner.RunCheckedAsync("tshark", ["-r", capture, "-V"], TimeSpan.FromSeconds(30), cancellationToken);
            string[] frames = FrameHeader().Split(tshark.StandardOutput).Where(frame => frame.Length > 0).ToArray();
            string[] adverts = frames.Where(frame => frame.Contains("Virtual Router Redundancy Protocol", StringComparison.Ordinal)).ToArray();
            string[] neighborAdvertisements = frames.Where(frame => frame.Contains("Type: Neighbor Advertisement (136)", StringComparison.Ordinal)).ToArray();
            output.WriteLine(adverts.FirstOrDefault() ?? tshark.StandardOutput);
            output.WriteLine(neighborAdvertisements.FirstOrDefault() ?? "");

            // The first advert and the neighbour advertisements leave at the takeover, so the first 13 frames hold all 10.
            Assert.Equal(CapturedNeighborAdvertisements, neighborAdvertisements.Length);
            Assert.Equal(CapturedAdverts, adverts.Length);
            string destination = unicast ? TheirLinkLocal.ToString() : "ff02::12";
            foreach (string advert in adverts)
            {
                Assert.Contains("Next Header: VRRP (112)", advert, StringComparison.Ordinal);
                Assert.Contains("Hop Limit: 255", advert, StringComparison.Ordinal);
                Assert.Contains($"Source Address: {OurLinkLocal}", advert, StringComparison.Ordinal);
                Assert.Contains($"Destination Address: {destination}", advert, StringComparison.Ordinal);
                Assert.Contains("VRRP protocol version: 3", advert, StringComparison.Ordinal);
                Assert.Contains($"Virtual Rtr ID: {vrid}", advert, StringComparison.Ordinal);
                Assert.Contains($"Priority: {HighPriority}", advert, StringComparison.Ordinal);
                Assert.Matches($@"IPv6 Address: {Regex.Escape(_linkLocalVip.ToString())}\s+IPv6 Address: {Regex.Escape(_globalVip.ToString())}", advert);
                Assert.Matches(@"Checksum: 0x[0-9a-f]{4} \[correct\]", advert);
                Assert.Contains("[Checksum Status: Good]", advert, StringComparison.Ordinal);
                Assert.DoesNotContain("[Expert Info", advert, StringComparison.Ordinal);
            }

            foreach (string advertisement in neighborAdvertisements)
            {
                Assert.Contains("Destination Address: ff02::1", advertisement, StringComparison.Ordinal);
                Assert.Contains("Hop Limit: 255", advertisement, StringComparison.Ordinal);
                Assert.Contains("Override: Set", advertisement, StringComparison.Ordinal);
                Assert.Contains("Router: Not set", advertisement, StringComparison.Ordinal);
                Assert.Contains("Solicited: Not set", advertisement, StringComparison.Ordinal);
                Assert.Matches($@"Target Address: ({Regex.Escape(_linkLocalVip.ToString())}|{Regex.Escape(_globalVip.ToString())})", advertisement);
                Assert.Contains(ourMac, advertisement, StringComparison.OrdinalIgnoreCase);
                Assert.Matches(@"Checksum: 0x[0-9a-f]{4} \[correct\]", advertisement);
                Assert.DoesNotContain("[Expert Info", advertisement, StringComparison.Ordinal);
            }
        }

        private static async Task<string> ReadMacAsync(LabHost host, CancellationToken cancellationToken)
        {
            CommandResult result = await CommandRunner.RunCheckedAsync("ip", ["netns", "exec", host.Namespace, "cat", "/sys/class/net/eth0/address"], cancellationToken: cancellationToken);
            return result.StandardOutput.Trim();
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
            // The lab's node config with the IPv6 VRRP settings of this case.
            string basePath = NodeConfigFile.Write(lab.RunDirectory, lab.Topology, _ours, priority, new NodeSettings { VirtualRouterId = vrid }, lab.Certificate);
            JsonObject config = JsonNode.Parse(File.ReadAllText(basePath))!.AsObject();
            JsonObject vrrp = config["Vrrp"]!.AsObject();
            vrrp["Version"] = 3;
            vrrp["VirtualAddresses"] = new JsonArray($"{_linkLocalVip}/64", $"{_globalVip}/64");
            if (unicast)
            {
                vrrp["UnicastPeers"] = new JsonArray(TheirLinkLocal.ToString());
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

        private async Task<bool> HasOursAsync(CancellationToken cancellationToken) =>
            (await Ipv6LabLink.ListAddressesAsync(_ours, cancellationToken)).ContainsKey(_globalVip);

        private async Task<bool> HasTheirsAsync(CancellationToken cancellationToken) =>
            (await Ipv6LabLink.ListAddressesAsync(_theirs, cancellationToken)).ContainsKey(_globalVip);

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
