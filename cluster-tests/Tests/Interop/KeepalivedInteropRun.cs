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
/// One keepalived interoperability case: our node on node A and keepalived 2.2.7 on node B, with the timings, waits
/// and steps that the cases share and the processes the case started, so that they can be removed.
/// </summary>
/// <param name="tag">The case's name in process names, file names and failure messages.</param>
internal abstract partial class KeepalivedInteropRun(ClusterLab lab, string tag)
{
    public const byte HighPriority = 150;
    public const byte KeepalivedPriority = 100;
    public const byte LowPriority = 50;

    public static readonly TimeSpan AdvertisementInterval = TimeSpan.FromSeconds(1);

    /// <summary>The limit on a process start: dotnet startup, the HTTPS listener and the first Master_Down_Interval.</summary>
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The lab's IPv4 virtual address with its prefix length, as keepalived and our node configure it.</summary>
    public static readonly string Ipv4VirtualAddress = $"{LabTopology.VirtualAddress}/{LabTopology.PrefixLength}";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    protected ClusterLab Lab { get; } = lab;

    protected string Tag { get; } = tag;

    protected LabHost Ours { get; } = lab.Topology.NodeA;

    protected LabHost Theirs { get; } = lab.Topology.NodeB;

    protected LabProcess? Node { get; private set; }

    protected KeepalivedInstance? Keepalived { get; private set; }

    private string? _nodeConfig;

    /// <summary>The last 2,000 lines of our node's log, or an empty string before it started.</summary>
    public string NodeLog => Node?.ReadLogTail(2000) ?? "";

    /// <summary>Skew_Time (RFC 9568 §6.1, RFC 3768 §6.1) with a 1 s interval.</summary>
    public static TimeSpan SkewTime(byte priority) => AdvertisementInterval * (256 - priority) / 256;

    /// <summary>Master_Down_Interval (RFC 9568 §6.1, RFC 3768 §6.1) with a 1 s interval: 3 s plus Skew_Time.</summary>
    public static TimeSpan MasterDownInterval(byte priority) => (AdvertisementInterval * 3) + SkewTime(priority);

    /// <summary>The takeover bound of the matrix: the backup's Master_Down_Interval plus 1 s to add the addresses.</summary>
    public static TimeSpan TakeoverBound(byte backupPriority) => MasterDownInterval(backupPriority) + TimeSpan.FromSeconds(1);

    /// <summary>
    /// Skips the test when the lab, keepalived or the <paramref name="more"/> tools are missing, and fails it
    /// instead when CI=true.
    /// </summary>
    public static async Task RequirePrerequisitesAsync(LabRequirements more = default)
    {
        var missing = new List<string>(await LabPrerequisites.FindMissingAsync(LabRequirements.Network | LabRequirements.Services | LabRequirements.Node | more));
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

    /// <summary>
    /// Starts tcpdump on the lab bridge, writing the first <paramref name="count"/> packets that match
    /// <paramref name="filter"/> to a file of the run directory, and returns the process and the file.
    /// </summary>
    protected (LabProcess Tcpdump, string File) StartCapture(string filter, int count)
    {
        // -Z root keeps tcpdump from switching to its own user, which could not write into the owner-only run
        // directory. -U writes each packet at once.
        string capture = Path.Combine(Lab.RunDirectory, $"{Tag}.pcap");
        LabProcess tcpdump = Lab.StartProcess(
            $"tcpdump-{Tag}",
            Lab.Topology.BridgeNamespace,
            "tcpdump",
            ["-i", Lab.Topology.BridgeName, "-n", "-U", "-Z", "root", "-c", count.ToString(), "-w", capture, filter]);
        return (tcpdump, capture);
    }

    /// <summary>
    /// Waits up to 10 s for tcpdump to capture its packets, decodes the file with tshark and returns one text block per
    /// frame. The VRRPv3 checksum over IPv4 is checked with the pseudo-header (tshark's option pinned, so that a changed
    /// default cannot hide a bad checksum).
    /// </summary>
    protected async Task<string[]> ReadCaptureAsync((LabProcess Tcpdump, string File) capture, string expected, CancellationToken cancellationToken)
    {
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await capture.Tcpdump.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"{Tag}: tcpdump captured fewer than {expected} from our node.{Environment.NewLine}{Lab.DescribeProcesses()}");
            }
        }

        Assert.True(capture.Tcpdump.ExitCode == 0, capture.Tcpdump.Describe());
        CommandResult tshark = await CommandRunner.RunCheckedAsync(
            "tshark",
            ["-r", capture.File, "-V", "-o", "vrrp.v3_checksum_as_in_v2:FALSE"],
            TimeSpan.FromSeconds(30),
            cancellationToken);
        return FrameHeader().Split(tshark.StandardOutput).Where(frame => frame.Length > 0).ToArray();
    }

    /// <summary>Checks what every VRRP advert needs to be decoded as valid: a correct checksum and no expert warning.</summary>
    protected static void AssertCleanAdvert(string advert)
    {
        Assert.Matches(@"Checksum: 0x[0-9a-f]{4} \[correct\]", advert);
        Assert.Contains("[Checksum Status: Good]", advert, StringComparison.Ordinal);
        Assert.DoesNotContain("[Expert Info", advert, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^Frame \d+:", RegexOptions.Multiline)]
    private static partial Regex FrameHeader();

    /// <summary>Returns whether the virtual address that this case checks is on our node; by default the lab's IPv4 one.</summary>
    protected virtual Task<bool> HasOursAsync(CancellationToken cancellationToken) =>
        Lab.Network.HasAddressAsync(Ours, LabTopology.VirtualAddress, cancellationToken);

    /// <summary>Returns whether the virtual address that this case checks is on keepalived's node; by default the lab's IPv4 one.</summary>
    protected virtual Task<bool> HasTheirsAsync(CancellationToken cancellationToken) =>
        Lab.Network.HasAddressAsync(Theirs, LabTopology.VirtualAddress, cancellationToken);

    /// <summary>Removes the virtual addresses that keepalived left on its node when it was killed; by default the lab's IPv4 one.</summary>
    protected virtual async Task RemoveKeepalivedAddressesAsync()
    {
        if (await Lab.Network.HasAddressAsync(Theirs, LabTopology.VirtualAddress, CancellationToken.None))
        {
            await CommandRunner.RunCheckedAsync("ip", ["-n", Theirs.Namespace, "addr", "del", Ipv4VirtualAddress, "dev", "eth0"]);
        }
    }

    public async Task<bool> OursOnlyAsync(CancellationToken cancellationToken) =>
        await HasOursAsync(cancellationToken) && !await HasTheirsAsync(cancellationToken);

    public async Task<bool> TheirsOnlyAsync(CancellationToken cancellationToken) =>
        await HasTheirsAsync(cancellationToken) && !await HasOursAsync(cancellationToken);

    protected void StartKeepalived(KeepalivedConfig config) =>
        Keepalived = KeepalivedInstance.Start(Lab, Theirs, config, $"keepalived-{Tag}");

    /// <summary>
    /// Writes the lab's node config for our node with <paramref name="configure"/> applied to it, and starts the node.
    /// </summary>
    /// <param name="name">The config file's suffix; the same name overwrites the file of an earlier start.</param>
    /// <param name="start">The start's number in the process name, so that each start keeps its own log.</param>
    protected void StartNode(string name, int start, byte priority, NodeSettings settings, Action<JsonObject> configure)
    {
        string basePath = NodeConfigFile.Write(Lab.RunDirectory, Lab.Topology, Ours, priority, settings, Lab.Certificate);
        JsonObject config = JsonNode.Parse(File.ReadAllText(basePath))!.AsObject();
        configure(config);

        _nodeConfig = Path.Combine(Lab.RunDirectory, $"tandem-{Tag}-{name}.json");
        File.WriteAllText(_nodeConfig, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Node = Lab.StartProcess($"tandem-{Tag}-{start}", Ours.Namespace, LabPaths.DotnetHost, [Lab.NodeAssemblyPath, "--config", _nodeConfig]);
    }

    /// <summary>
    /// Runs the takeover matrix against a started keepalived at <see cref="KeepalivedPriority"/>: our node at
    /// <see cref="HighPriority"/> becomes master, keepalived takes over after our crash, our node preempts it on
    /// return, and with our node at <see cref="LowPriority"/> our node takes over after keepalived's crash.
    /// Each takeover must finish within <see cref="TakeoverBound"/>.
    /// </summary>
    /// <param name="startNode">Starts our node with the given config name, priority and start number.</param>
    /// <param name="whileMaster">Checks that run once our node is master for the first time.</param>
    /// <param name="afterBackupHeld">Checks that run once keepalived stayed backup past its Master_Down_Interval.</param>
    protected async Task RunTakeoverMatrixAsync(
        Action<string, byte, int> startNode,
        Func<CancellationToken, Task> whileMaster,
        Func<CancellationToken, Task> afterBackupHeld,
        ITestOutputHelper output,
        CancellationToken cancellationToken)
    {
        // Our node with the higher priority becomes master and keepalived stays backup.
        startNode("high", HighPriority, 1);
        await WaitForAsync("our node master and keepalived backup", OursOnlyAsync, StartupTimeout, cancellationToken);
        Assert.True(Keepalived!.HasLoggedState("BACKUP"), Keepalived.Parent.Describe());
        await whileMaster(cancellationToken);

        // keepalived receives and accepts our adverts only if it stays backup past its Master_Down_Interval.
        await HoldAsync("keepalived stays backup while our node advertises", OursOnlyAsync, MasterDownInterval(KeepalivedPriority) + AdvertisementInterval, cancellationToken);
        await afterBackupHeld(cancellationToken);

        // Our node crashes: keepalived takes over within its Master_Down_Interval + 1 s.
        TimeSpan keepalivedTakeover = await CrashOursAndMeasureAsync(cancellationToken);
        output.WriteLine($"{Tag}: keepalived took over in {keepalivedTakeover.TotalSeconds:0.00} s (bound {TakeoverBound(KeepalivedPriority).TotalSeconds:0.00} s)");
        Assert.True(keepalivedTakeover <= TakeoverBound(KeepalivedPriority), $"keepalived took {keepalivedTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{Lab.DescribeProcesses()}");

        // Our node returns with the higher priority and preempts keepalived.
        long restart = TimeProvider.System.GetTimestamp();
        startNode("high", HighPriority, 2);
        await WaitForAsync("our node preempting keepalived", OursOnlyAsync, StartupTimeout, cancellationToken);
        output.WriteLine($"{Tag}: our node preempted {TimeProvider.System.GetElapsedTime(restart).TotalSeconds:0.00} s after its start, including process startup");
        await HoldAsync("our node stays master", OursOnlyAsync, AdvertisementInterval * 2, cancellationToken);

        // Priorities reversed: keepalived is master and our node, now at the lower priority, stays backup.
        await CrashOursAndMeasureAsync(cancellationToken);
        startNode("low", LowPriority, 3);
        await WaitForAsync(
            "our node started as backup",
            _ => Task.FromResult(Node!.ReadLogTail(500).Contains("started in state Backup", StringComparison.Ordinal)),
            StartupTimeout,
            cancellationToken);
        await HoldAsync("our node stays backup while keepalived advertises", TheirsOnlyAsync, MasterDownInterval(LowPriority) + AdvertisementInterval, cancellationToken);

        // keepalived crashes: our node takes over within its Master_Down_Interval + 1 s.
        long killed = TimeProvider.System.GetTimestamp();
        await Keepalived.KillHardAsync(cancellationToken);
        await WaitForAsync("our node taking over from keepalived", HasOursAsync, TakeoverBound(LowPriority) + TimeSpan.FromSeconds(5), cancellationToken);
        TimeSpan ourTakeover = TimeProvider.System.GetElapsedTime(killed);
        output.WriteLine($"{Tag}: our node took over in {ourTakeover.TotalSeconds:0.00} s (bound {TakeoverBound(LowPriority).TotalSeconds:0.00} s)");
        Assert.True(ourTakeover <= TakeoverBound(LowPriority), $"Our node took {ourTakeover.TotalSeconds:0.00} s.{Environment.NewLine}{Lab.DescribeProcesses()}");
        Assert.False(Node!.HasExited, Node.Describe());
    }

    /// <summary>Kills our node with SIGKILL and runs the release command, as systemd's ExecStopPost would.</summary>
    public async Task CrashOursAsync(CancellationToken cancellationToken)
    {
        await Node!.KillAndWaitAsync(TimeSpan.FromSeconds(10));
        CommandResult result = await ReleaseAsync(cancellationToken);
        Assert.True(result.Succeeded, $"'{result.CommandLine}' failed: {result.StandardError}");
    }

    /// <summary>Stops what this case started and removes the addresses keepalived left behind when it was killed.</summary>
    public async Task CleanUpAsync()
    {
        if (Node is { HasExited: false })
        {
            await Node.KillAndWaitAsync(TimeSpan.FromSeconds(10));
            await ReleaseAsync(CancellationToken.None);
        }

        if (Keepalived is { Parent.HasExited: false })
        {
            await Keepalived.KillHardAsync(CancellationToken.None);
        }

        await RemoveKeepalivedAddressesAsync();
    }

    public Task WaitForLogAsync(string text, CancellationToken cancellationToken) =>
        WaitForAsync($"'{text}' in our node's log", _ => Task.FromResult(NodeLog.Contains(text, StringComparison.Ordinal)), StartupTimeout, cancellationToken);

    public async Task WaitForAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        bool reached = await Poll.UntilAsync(condition, timeout, PollInterval, TimeProvider.System, cancellationToken);
        Assert.True(reached, $"{Tag}: timed out after {timeout.TotalSeconds:0.#} s waiting for {description}.{Environment.NewLine}{Lab.DescribeProcesses(40)}");
    }

    /// <summary>Fails as soon as <paramref name="condition"/> is false at any poll during <paramref name="duration"/>.</summary>
    public async Task HoldAsync(string description, Func<CancellationToken, Task<bool>> condition, TimeSpan duration, CancellationToken cancellationToken)
    {
        bool broken = await Poll.UntilAsync(async token => !await condition(token), duration, PollInterval, TimeProvider.System, cancellationToken);
        Assert.False(broken, $"{Tag}: expected {description} for {duration.TotalSeconds:0.#} s, but it changed.{Environment.NewLine}{Lab.DescribeProcesses(40)}");
    }

    /// <summary>Kills our node with SIGKILL, runs the release command and returns how long keepalived took to hold the address.</summary>
    private async Task<TimeSpan> CrashOursAndMeasureAsync(CancellationToken cancellationToken)
    {
        long killed = TimeProvider.System.GetTimestamp();
        await Node!.KillAndWaitAsync(TimeSpan.FromSeconds(10));

        // systemd runs the release command after the process died (ExecStopPost), so it overlaps the takeover.
        Task<CommandResult> release = ReleaseAsync(cancellationToken);
        await WaitForAsync("keepalived taking over", HasTheirsAsync, TakeoverBound(KeepalivedPriority) + TimeSpan.FromSeconds(5), cancellationToken);
        TimeSpan takeover = TimeProvider.System.GetElapsedTime(killed);

        CommandResult result = await release;
        Assert.True(result.Succeeded, $"'{result.CommandLine}' failed: {result.StandardError}");
        Assert.False(await HasOursAsync(cancellationToken), "The release command left the virtual address on our node.");
        return takeover;
    }

    private Task<CommandResult> ReleaseAsync(CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(
            "ip",
            ["netns", "exec", Ours.Namespace, LabPaths.DotnetHost, Lab.NodeAssemblyPath, "release", "--config", _nodeConfig!],
            TimeSpan.FromSeconds(30),
            cancellationToken);
}
