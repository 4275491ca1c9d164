using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Nodes;
using static Tandem.ClusterTests.Tests.Interop.KeepalivedInteropRun;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 over VRRPv3 multicast: preemption turned off on both sides, and
/// tracked conditions on our master that hand the address to keepalived. Both cases share one lab network.
/// </summary>
public sealed class KeepalivedTrackingInteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    /// <summary>Weight of the tracked file that lowers our node below keepalived: 150 - 100 = 50.</summary>
    private const int LoweringWeight = 100;

    /// <summary>The node's default Vrrp:TrackIntervalMilliseconds: a tracked file is noticed within this time.</summary>
    private static readonly TimeSpan TrackInterval = TimeSpan.FromSeconds(1);

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

    /// <summary>One case over IPv4 multicast, with the preemption and tracked conditions it sets.</summary>
    private sealed class InteropRun(ClusterLab lab, byte vrid, string tag) : KeepalivedInteropRun(lab, tag)
    {
        public void StartKeepalived(bool noPreempt) =>
            StartKeepalived(new KeepalivedConfig(3, vrid, KeepalivedPriority, "eth0", Ipv4VirtualAddress, null, [], null) { NoPreempt = noPreempt });

        public void StartNode(byte priority, bool preempt, (string Condition, int Weight)[]? track, int start) =>
            StartNode(start.ToString(), start, priority, new NodeSettings { VirtualRouterId = vrid, Preempt = preempt }, config =>
            {
                if (track is null)
                {
                    return;
                }

                var entries = new JsonArray();
                foreach (var (condition, weight) in track)
                {
                    entries.Add(new JsonObject { ["Condition"] = condition, ["Weight"] = weight });
                }

                config["Vrrp"]!.AsObject()["Track"] = entries;
            });
    }
}
