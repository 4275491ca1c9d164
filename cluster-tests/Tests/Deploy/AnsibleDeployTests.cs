using System.Diagnostics;
using System.Security.Cryptography;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Deploy;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Deploy;

/// <summary>
/// deploy/ansible against three booted Debian 12 hosts: the first run installs the cluster, the
/// second changes nothing, a SIGKILL of the master's service ends in a restart by systemd after
/// which the node rejoins as backup, and a rolling upgrade fails no request through the virtual address.
/// </summary>
public sealed class AnsibleDeployTests(ITestOutputHelper output)
{
    // The release takes 1 to 2 minutes to publish, the hosts about 10 s to boot from a cached root
    // file system (2 minutes to build it once), and each playbook run up to 2 minutes.
    [Fact(Timeout = 900_000)]
    public async Task Playbook_DeploysRestartsAndUpgradesTheCluster()
    {
        await RequireDeployLabAsync();
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var logger = new TestOutputLogger(output, TimeProvider.System);
        var total = Stopwatch.StartNew();

        string firstArchive = await BuildReleaseAsync(cancellationToken);
        DeployLab lab = await DeployLab.CreateAsync(logger, cancellationToken);
        await using (lab)
        {
            string secondArchive = await RepackAsync(lab, firstArchive, "deploytest-upgrade", cancellationToken);
            await lab.StartBackendAsync(cancellationToken);

            // The control token lets the rollout hand the master role over with tandemctl switchover.
            // The proxy listens on the virtual address itself, so the backup binds it with IP_FREEBIND
            // under the sandboxed unit before it owns the address.
            var controlToken = new Dictionary<string, object>
            {
                ["tandem_control_token"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                ["tandem_proxy_address"] = DeployLab.VirtualAddress.ToString(),
            };
            string inventory = lab.WriteInventory("first.yml", firstArchive, controlToken);
            PlaybookRun first = await lab.RunPlaybookAsync(inventory, cancellationToken);
            Assert.True(first.Succeeded, $"the first run failed, see {first.LogPath}:{Environment.NewLine}{first.Tail}");

            // node-b goes first and becomes master alone; node-a, without preemption, joins as backup,
            // so the play's last step hands the role back to it.
            Assert.Matches(HandBackChanged, first.Output);

            PlaybookRun second = await lab.RunPlaybookAsync(inventory, cancellationToken);
            Assert.True(second.Succeeded, $"the second run failed, see {second.LogPath}:{Environment.NewLine}{second.Tail}");
            Assert.All(second.Recap, host => Assert.True(host.Changed == 0, $"{host.Host} changed {host.Changed} things on the second run, see {second.LogPath}"));

            IReadOnlyDictionary<string, string> states = await lab.GetStatesAsync(DeployLab.NodeA, cancellationToken);
            Assert.Equal("MASTER", states[DeployLab.NodeA.Name]);
            Assert.Equal("BACKUP", states[DeployLab.NodeB.Name]);
            await AssertServesThroughVipAsync(lab);
            await AssertSentGratuitousArpAsync(lab);

            (TimeSpan takeover, TimeSpan rejoin) = await KillMasterServiceAsync(lab, cancellationToken);

            VipLoadResult load;
            PlaybookRun upgrade;
            VipLoad vipLoad = lab.StartLoad("upgrade-load", maxRequests: 5000, maxDuration: TimeSpan.FromMinutes(5));
            await using (vipLoad)
            {
                // Let the client reach a steady state before the first node restarts.
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                string upgradeInventory = lab.WriteInventory(
                    "upgrade.yml", secondArchive, new Dictionary<string, object>(controlToken) { ["tandem_log_format"] = "json" });
                upgrade = await lab.RunPlaybookAsync(upgradeInventory, cancellationToken);
                load = await vipLoad.StopAsync();
            }

            IReadOnlyList<PlaybookStep> steps = PlaybookTimeline.Parse(upgrade.Output);
            foreach (VipLoadFailure failure in load.Failures)
            {
                output.WriteLine($"request failed with {failure.Code} at {PlaybookTimeline.PhaseAt(steps, failure.StartedAt)}");
            }

            output.WriteLine(
                $"first run {first.Duration.TotalSeconds:0.0} s (changed={first.TotalChanged}), second run {second.Duration.TotalSeconds:0.0} s " +
                $"(changed={second.TotalChanged}), SIGKILL takeover {takeover.TotalMilliseconds:0} ms, rejoin {rejoin.TotalSeconds:0.0} s, " +
                $"upgrade {upgrade.Duration.TotalSeconds:0.0} s with {load.Failed} of {load.Sent} requests failed, slowest {load.Slowest.TotalMilliseconds:0} ms " +
                $"({string.Join(", ", load.FailuresByReason.Select(pair => $"{pair.Key}: {pair.Value}"))}), whole test {total.Elapsed.TotalSeconds:0} s");

            Assert.True(upgrade.Succeeded, $"the upgrade run failed, see {upgrade.LogPath}:{Environment.NewLine}{upgrade.Tail}");
            Assert.True(upgrade.TotalChanged > 0, "the upgrade run changed nothing");
            Assert.Matches(@"Hand over the master role\] \**\s+(?:\w+ \d.*\n)?changed: \[node-a\]", upgrade.Output);
            Assert.Matches(HandBackChanged, upgrade.Output);
            foreach (DeployHost node in new[] { DeployLab.NodeA, DeployLab.NodeB })
            {
                CommandResult version = await lab.SshAsync(node, "cat /opt/tandem/current/VERSION", cancellationToken: cancellationToken);
                Assert.Equal("deploytest-upgrade", version.StandardOutput.Trim());
            }

            states = await lab.GetStatesAsync(DeployLab.NodeA, cancellationToken);
            Assert.Equal("MASTER", states[DeployLab.NodeA.Name]);
            Assert.Equal("BACKUP", states[DeployLab.NodeB.Name]);
            await AssertBadValueStopsAtTheBackupAsync(lab, secondArchive, controlToken, cancellationToken);

            // The upgrade hands the address over twice, both times with tandemctl switchover, which drains
            // the old master first: to node-b before node-a restarts, and back to node-a in the last step,
            // since node-a rejoins as backup instead of preempting. Neither may fail a request.
            Assert.True(load.Sent >= 100, $"the client sent only {load.Sent} requests during the upgrade");
            Assert.True(load.Failed == 0, $"{load.Failed} of {load.Sent} requests failed during the upgrade, see the phases above and {upgrade.LogPath}");
        }

        Assert.Empty(lab.TeardownProblems);
    }

    // The hand-back step's header, the profile_tasks timestamp line, then the result.
    private const string HandBackChanged = @"Ask the current master to hand over to the primary\] \**\s+(?:\w+ \d.*\n)?changed: \[node-a\]";

    /// <summary>
    /// Kills node-a's service with SIGKILL; returns how long node-b took to become master and node-a to
    /// rejoin as backup. node-a does not preempt, and the README's tandemctl switchover gives it the role back.
    /// </summary>
    private async Task<(TimeSpan Takeover, TimeSpan Rejoin)> KillMasterServiceAsync(DeployLab lab, CancellationToken cancellationToken)
    {
        CommandResult kill = await lab.SshAsync(
            DeployLab.NodeA, "systemctl kill --signal=SIGKILL --kill-whom=main tandem-node", cancellationToken: cancellationToken);
        Assert.True(kill.Succeeded, $"{kill.CommandLine}: {kill.StandardError}");
        var sinceKill = Stopwatch.StartNew();

        // 3 advertisement intervals (1 s each) plus node-b's skew, with a margin for the busy machine
        // and the SSH round trip of each poll.
        TimeSpan? takeover = await lab.WaitForStatesAsync(
            DeployLab.NodeB, states => states[DeployLab.NodeB.Name] == "MASTER", TimeSpan.FromSeconds(15), cancellationToken);
        Assert.True(takeover is not null, "node-b did not become master within 15 s of the SIGKILL");

        TimeSpan? rejoin = await lab.WaitForStatesAsync(
            DeployLab.NodeB,
            states => states[DeployLab.NodeA.Name] == "BACKUP" && states[DeployLab.NodeB.Name] == "MASTER",
            TimeSpan.FromSeconds(60),
            cancellationToken);
        Assert.True(rejoin is not null, "node-a did not rejoin as backup within 60 s of the SIGKILL");
        TimeSpan sinceRejoin = sinceKill.Elapsed;

        // With preemption node-a would take over once its Master_Down_Interval (3 intervals plus its
        // skew, about 3.4 s) passed without an advert it accepts; 6 s leaves a margin for the busy machine.
        TimeSpan? preempted = await lab.WaitForStatesAsync(
            DeployLab.NodeB, states => states[DeployLab.NodeA.Name] == "MASTER", TimeSpan.FromSeconds(6), cancellationToken);
        Assert.True(preempted is null, "node-a took the master role back after its restart although Vrrp:Preempt is off");

        // ExecStopPost= must have removed the address from node-a before systemd restarted it.
        CommandResult journal = await lab.SshAsync(
            DeployLab.NodeA, "journalctl -u tandem-node --no-pager -o cat", cancellationToken: cancellationToken);
        Assert.Contains("Released the virtual addresses on eth0", journal.StandardOutput, StringComparison.Ordinal);

        CommandResult restarts = await lab.SshAsync(
            DeployLab.NodeA, "systemctl show tandem-node --property=NRestarts --value", cancellationToken: cancellationToken);
        Assert.Equal("1", restarts.StandardOutput.Trim());
        await AssertServesThroughVipAsync(lab);

        CommandResult switchover = await lab.SshAsync(
            DeployLab.NodeA,
            $"/opt/tandem/current/ctl/tandemctl switchover --node={DeployLab.NodeB.ManagementEndpoint} --token-file=/etc/tandem/control.token",
            cancellationToken: cancellationToken);
        Assert.True(switchover.Succeeded, $"{switchover.CommandLine}: {switchover.StandardOutput} {switchover.StandardError}");
        IReadOnlyDictionary<string, string> states = await lab.GetStatesAsync(DeployLab.NodeA, cancellationToken);
        Assert.Equal("MASTER", states[DeployLab.NodeA.Name]);
        Assert.Equal("BACKUP", states[DeployLab.NodeB.Name]);
        return (takeover.Value, sinceRejoin);
    }

    private static async Task AssertServesThroughVipAsync(DeployLab lab)
    {
        CommandResult result = await CommandRunner.RunAsync(
            "ip",
            [
                "netns", "exec", lab.ControllerNamespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                "--cacert", lab.CertificatePath, "--resolve", $"{DeployLab.ServiceHostName}:443:{DeployLab.VirtualAddress}",
                $"https://{DeployLab.ServiceHostName}/",
            ]);
        Assert.Equal("200", result.StandardOutput.Trim());
    }

    /// <summary>
    /// Rolls out an advertisement interval that the node rejects: node-b, which goes first, fails to
    /// start, so the play stops before node-a, which keeps serving. The good inventory then repairs node-b.
    /// </summary>
    private async Task AssertBadValueStopsAtTheBackupAsync(
        DeployLab lab, string archive, Dictionary<string, object> baseVariables, CancellationToken cancellationToken)
    {
        var good = new Dictionary<string, object>(baseVariables) { ["tandem_log_format"] = "json" };
        var bad = new Dictionary<string, object>(good) { ["tandem_vrrp_advert_interval_centiseconds"] = 0 };
        PlaybookRun badRun = await lab.RunPlaybookAsync(lab.WriteInventory("bad-value.yml", archive, bad), cancellationToken);

        Assert.False(badRun.Succeeded, $"the run with an advert interval of 0 succeeded, see {badRun.LogPath}");
        Assert.Equal(1, badRun.Recap.Single(host => host.Host == DeployLab.NodeB.Name).Failed);
        Assert.DoesNotContain(badRun.Recap, host => host.Host == DeployLab.NodeA.Name && host.Changed > 0);
        IReadOnlyDictionary<string, string> states = await lab.GetStatesAsync(DeployLab.NodeA, cancellationToken);
        Assert.Equal("MASTER", states[DeployLab.NodeA.Name]);
        await AssertServesThroughVipAsync(lab);

        PlaybookRun repair = await lab.RunPlaybookAsync(lab.WriteInventory("repair.yml", archive, good), cancellationToken);
        Assert.True(repair.Succeeded, $"the repair run failed, see {repair.LogPath}:{Environment.NewLine}{repair.Tail}");
        output.WriteLine($"bad value: stopped at node-b after {badRun.Duration.TotalSeconds:0.0} s, repaired in {repair.Duration.TotalSeconds:0.0} s");
    }

    /// <summary>Checks that the master sent gratuitous ARP through libpcap, which needs CAP_NET_RAW and AF_PACKET in the unit.</summary>
    private static async Task AssertSentGratuitousArpAsync(DeployLab lab)
    {
        CommandResult result = await CommandRunner.RunAsync(
            "ip", ["netns", "exec", lab.ControllerNamespace, "curl", "-s", "--max-time", "3", $"http://{DeployLab.NodeA.Address}:9902/metrics"]);
        string? line = result.StandardOutput.Split('\n').FirstOrDefault(text => text.StartsWith("tandem_vrrp_gratuitous_arp_sent_total", StringComparison.Ordinal));
        Assert.NotNull(line);
        Assert.NotEqual("0", line.Split(' ')[^1].Trim());
    }

    /// <summary>Returns TANDEM_RELEASE_ARCHIVE when set, or builds the release of this work tree.</summary>
    private async Task<string> BuildReleaseAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("TANDEM_RELEASE_ARCHIVE") is { Length: > 0 } archive)
        {
            return archive;
        }

        string script = Path.Combine(LabPaths.RepositoryRoot, "deploy", "ansible", "build-release.sh");
        CommandResult result = await CommandRunner.RunCheckedAsync(script, ["deploytest"], TimeSpan.FromMinutes(10), cancellationToken);
        output.WriteLine($"built the release in {result.Duration.TotalSeconds:0} s");
        return result.StandardOutput.Trim();
    }

    /// <summary>Copies <paramref name="archive"/> with another VERSION, which the playbook installs as a new release.</summary>
    private static async Task<string> RepackAsync(DeployLab lab, string archive, string version, CancellationToken cancellationToken)
    {
        string directory = Path.Combine(lab.RunDirectory, "repack");
        string repacked = Path.Combine(lab.RunDirectory, $"tandem-{version}-linux-x64.tar.gz");
        Directory.CreateDirectory(directory);
        await CommandRunner.RunCheckedAsync(
            "sh",
            ["-c", "tar -xzf \"$1\" -C \"$2\" && echo \"$3\" > \"$2/VERSION\" && tar -I \"gzip -1\" -C \"$2\" -cf \"$4\" VERSION node ctl && rm -rf \"$2\"",
             "repack", archive, directory, version, repacked],
            TimeSpan.FromMinutes(3),
            cancellationToken);
        return repacked;
    }

    private static async Task RequireDeployLabAsync()
    {
        IReadOnlyList<string> missing = await DeployLab.FindMissingAsync();
        if (missing.Count == 0)
        {
            return;
        }

        string reason = string.Join(" ", missing);
        if (LabGate.IsCi)
        {
            Assert.Fail($"CI=true, so this lab test must run, but: {reason}");
        }

        Assert.Skip(reason);
    }
}
