using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Drill;
using Tandem.ClusterTests.Lab.Nodes;

namespace Tandem.ClusterTests.Tests.Drill;

/// <summary>The failover drill against two real tandem nodes in the namespace lab.</summary>
public sealed class FailoverDrillTests(ITestOutputHelper output)
{
    [Fact(Timeout = 240_000)]
    public Task ProcessKill_StandbyTakesOver() => RunDrillAsync(DrillVariant.ProcessKill);

    [Fact(Timeout = 240_000)]
    public Task HostDown_StandbyTakesOver() => RunDrillAsync(DrillVariant.HostDown);

    [Fact(Timeout = 240_000)]
    public Task GracefulStop_StandbyTakesOverAfterSkew() => RunDrillAsync(DrillVariant.GracefulStop);

    private async Task RunDrillAsync(DrillVariant variant)
    {
        await LabGate.RequireAsync(LabRequirements.Cluster);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var logger = new TestOutputLogger(output, TimeProvider.System);
        var options = new ClusterLabOptions();
        NodeSettings settings = options.Nodes;

        // 3 × advertisement interval + Skew_Time of the backup + 1 s, from the same settings the node
        // configs use. After a priority-0 advert the backup waits Skew_Time alone (RFC 9568 §6.4.2).
        TimeSpan skew = settings.SkewTime(settings.NodeBPriority);
        TimeSpan intervals = variant == DrillVariant.GracefulStop ? TimeSpan.Zero : settings.AdvertisementInterval * 3;
        TimeSpan bound = intervals + skew + TimeSpan.FromSeconds(1);

        DrillReport report;
        string processes;
        ClusterLab lab = await ClusterLab.CreateAsync(options, logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            await lab.StartAllAsync(cancellationToken);
            report = await new FailoverDrill(lab, logger, TimeProvider.System).RunAsync(variant, cancellationToken);
            processes = lab.DescribeProcesses();
        }

        output.WriteLine($"takeover_ms={report.TakeoverMs} failed_requests={report.FailedRequests} affinity_kept={report.AffinityKept} " +
                         $"affinity_sessions={report.AffinitySessions} affinity_repinned={report.AffinityRepinned} tls_resumed_share={report.TlsResumedShare:0.00} " +
                         $"session_setup_ms={report.SessionSetupMs} session_replay_ms={report.SessionReplayMs} " +
                         $"bound_ms={bound.TotalMilliseconds:0} ({intervals.TotalMilliseconds:0} ms + skew {skew.TotalMilliseconds:0.###} ms + 1 s)");
        output.WriteLine(report.ToJson(indented: true));
        string context = $"{report.ToJson(indented: true)}{Environment.NewLine}{processes}";

        Assert.Equal("node-a", report.MasterBefore);
        Assert.True(report.StandbyAnswered, $"node-b never responded through the virtual address.{Environment.NewLine}{context}");
        Assert.NotNull(report.TakeoverMs);
        Assert.True(report.TakeoverMs <= bound.TotalMilliseconds, $"takeover {report.TakeoverMs} ms exceeds {bound.TotalMilliseconds:0} ms.{Environment.NewLine}{context}");
        Assert.True(report.AffinityKept, $"affinity to {report.Backend} was lost.{Environment.NewLine}{context}");
        Assert.Empty(report.TlsProblems);
        Assert.True(report.TlsResumedByVersion["tls1_3"], $"node-b did not resume the TLS 1.3 session from node-a.{Environment.NewLine}{context}");
        Assert.True(report.TlsResumedByVersion["tls1_2"], $"node-b did not resume the TLS 1.2 session from node-a.{Environment.NewLine}{context}");
        Assert.True(report.TlsResumed);
        Assert.Equal(SessionReplayProbe.SessionCount, report.AffinitySessions);
        Assert.Equal(2, report.AffinitySessionsByBackend.Count);
        Assert.Equal(0, report.AffinityRepinned);
        Assert.Equal(0, report.AffinityReplayFailed);
        Assert.Equal(TlsResumptionProbe.ManySessionCount, report.TlsSessions);
        Assert.Equal(1.0, report.TlsResumedShare);
        Assert.Equal("node-b", report.MasterAfter);
        Assert.Equal(0, report.FailedBeforeFault);
        Assert.Equal(0, report.FailedAfterTakeover);
        Assert.Empty(report.Problems);

        Assert.Empty(lab.TeardownProblems);
        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }
}
