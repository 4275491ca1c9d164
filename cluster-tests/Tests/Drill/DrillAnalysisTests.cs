using System.Net;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Drill;

namespace Tandem.ClusterTests.Tests.Drill;

public sealed class DrillAnalysisTests
{
    private static readonly IPAddress Master = IPAddress.Parse("198.51.100.11");
    private static readonly IPAddress Standby = IPAddress.Parse("198.51.100.12");
    private static readonly TimeSpan FaultAt = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void CleanTakeover_MeasuredFromFault()
    {
        var outcomes = new List<RequestOutcome>
        {
            Success(100, "backend-1", Master),
            Success(480, "backend-1", Master),
            Failure(520, ProbeFailure.ConnectionRefused),
            Failure(900, ProbeFailure.ConnectTimeout),
            Failure(1300, ProbeFailure.ConnectTimeout),
            Success(4100, "backend-1", Standby),
            Success(4200, "backend-1", Standby),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.Equal(TimeSpan.FromMilliseconds(3600), analysis.Takeover);
        Assert.Equal(3, analysis.FailedInWindow);
        Assert.Equal(0, analysis.FailedBeforeFault);
        Assert.Equal(0, analysis.FailedAfterTakeover);
        Assert.Equal(2, analysis.SucceededAfterTakeover);
        Assert.True(analysis.AffinityKept);
        Assert.Equal(2, analysis.FailureReasons["connect_timeout"]);
        Assert.Equal(1, analysis.FailureReasons["connection_refused"]);
    }

    [Fact]
    public void NoStandbyResponse_NoTakeover()
    {
        var outcomes = new List<RequestOutcome>
        {
            Success(100, "backend-1", Master),
            Failure(800, ProbeFailure.ConnectTimeout),
            Failure(1100, ProbeFailure.ConnectTimeout),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.Null(analysis.Takeover);
        Assert.Equal(2, analysis.FailedInWindow);
        Assert.False(analysis.AffinityKept);
    }

    [Fact]
    public void OtherBackendAfterTakeover_BreaksAffinity()
    {
        var outcomes = new List<RequestOutcome>
        {
            Success(100, "backend-1", Master),
            Failure(900, ProbeFailure.ConnectTimeout),
            Success(4000, "backend-1", Standby),
            Success(4100, "backend-2", Standby, cookie: "new"),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.NotNull(analysis.Takeover);
        Assert.False(analysis.AffinityKept);
        string violation = Assert.Single(analysis.AffinityViolations);
        Assert.Contains("backend-2 answered instead of backend-1 and set a new affinity cookie", violation);
    }

    [Fact]
    public void CookieReissuedForSameBackend_KeepsAffinity()
    {
        var outcomes = new List<RequestOutcome>
        {
            Success(100, "backend-1", Master),
            Success(4000, "backend-1", Standby, cookie: "reissued"),
            Success(4100, "backend-1", Standby),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.True(analysis.AffinityKept);
        Assert.Equal(1, analysis.CookiesReissued);
    }

    [Fact]
    public void FailuresOutsideWindow_CountedApart()
    {
        var outcomes = new List<RequestOutcome>
        {
            Failure(100, ProbeFailure.RequestTimeout),
            Success(300, "backend-1", Master),
            Failure(1000, ProbeFailure.ConnectTimeout),
            Success(4000, "backend-1", Standby),
            Failure(4100, ProbeFailure.ConnectionReset),
            Success(4200, "backend-1", Standby),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.Equal(1, analysis.FailedBeforeFault);
        Assert.Equal(1, analysis.FailedInWindow);
        Assert.Equal(1, analysis.FailedAfterTakeover);
    }

    [Fact]
    public void FailedMasterServingAfterFault_IsCounted()
    {
        var outcomes = new List<RequestOutcome>
        {
            Success(100, "backend-1", Master),
            Success(700, "backend-1", Master),
            Success(4000, "backend-1", Standby),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.Equal(1, analysis.ServedByFailedMaster);
        Assert.True(analysis.AffinityKept);
    }

    [Fact]
    public void RequestInFlightAtFault_CountsByCompletion()
    {
        // Sent before the fault and served by the master just after it, so neither a failure nor the takeover.
        var outcomes = new List<RequestOutcome>
        {
            new(TimeSpan.FromMilliseconds(490), TimeSpan.FromMilliseconds(505), ProbeFailure.None, "backend-1", Master, null),
            Failure(800, ProbeFailure.ConnectTimeout),
            Success(3900, "backend-1", Standby),
        };

        DrillAnalysis analysis = DrillAnalysis.Analyze(Timeline(outcomes));

        Assert.Equal(TimeSpan.FromMilliseconds(3400), analysis.Takeover);
        Assert.Equal(1, analysis.FailedInWindow);
        Assert.True(analysis.AffinityKept);
    }

    private static DrillTimeline Timeline(List<RequestOutcome> outcomes) => new(outcomes, FaultAt, "backend-1", Master, Standby);

    private static RequestOutcome Success(int completedMs, string backend, IPAddress servedBy, string? cookie = null) =>
        new(TimeSpan.FromMilliseconds(completedMs - 10), TimeSpan.FromMilliseconds(completedMs), ProbeFailure.None, backend, servedBy, cookie);

    private static RequestOutcome Failure(int completedMs, ProbeFailure failure) =>
        new(TimeSpan.FromMilliseconds(completedMs - 10), TimeSpan.FromMilliseconds(completedMs), failure, null, null, null);
}
