using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>
/// Takes the master of a running <see cref="ClusterLab"/> down while the client keeps sending
/// requests through the virtual address, and measures how long the standby needs to respond and
/// whether session affinity survives.
/// </summary>
/// <remarks>
/// The client sends one request every <see cref="RequestPeriod"/> on a fresh connection, or the
/// next one as soon as the previous failed late. The loop is bounded by <see cref="MaxRequests"/>
/// and <see cref="MaxDuration"/>, and ends <see cref="ObserveAfterTakeover"/> after the takeover.
/// </remarks>
public sealed class FailoverDrill(ClusterLab lab, ILogger logger, TimeProvider timeProvider)
{
    public static readonly TimeSpan RequestPeriod = TimeSpan.FromMilliseconds(20);
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(15);
    public const int MaxRequests = 750;

    /// <summary>Requests sent before the fault, to show the path through the master works.</summary>
    public static readonly TimeSpan Baseline = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the loop goes on after the takeover, to check that affinity holds.</summary>
    public static readonly TimeSpan ObserveAfterTakeover = TimeSpan.FromSeconds(1);

    /// <summary>How long a node may take to shut down after SIGTERM in the graceful-stop variant.</summary>
    public static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Requests sent with the new cookie before the fault, all of which must reach the same backend.</summary>
    public const int AffinityChecks = 5;

    private const string RequestPath = "/drill";

    public async Task<DrillReport> RunAsync(DrillVariant variant, CancellationToken cancellationToken)
    {
        LabTopology topology = lab.Topology;
        NodeSettings settings = lab.Options.Nodes;

        IReadOnlyList<LabHost> holders = await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken);
        if (holders.Count != 1)
        {
            throw new DrillException(
                $"Exactly one node must hold {LabTopology.VirtualAddress} before the drill, but these do: [{string.Join(", ", holders.Select(h => h.Name))}].");
        }

        LabHost master = holders[0];
        LabHost standby = topology.OtherNode(master);
        (string cookie, string backend) = await EstablishAffinityAsync(master, cancellationToken);
        var tls = new TlsResumptionProbe(lab);
        IReadOnlyList<string> tlsProblems = await tls.SaveSessionsAsync(cancellationToken);
        var sessions = new SessionReplayProbe(lab);
        long setupStart = timeProvider.GetTimestamp();
        IReadOnlyList<string> sessionProblems = await sessions.EstablishAsync(cancellationToken);
        IReadOnlyList<string> manyTlsProblems = await tls.SaveManyAsync(cancellationToken);
        TimeSpan setupDuration = timeProvider.GetElapsedTime(setupStart);

        RequestLoop loop = await SendRequestsAsync(variant, master, standby, cookie, cancellationToken);
        CommandResult? release = loop.FaultCompletion is null ? null : await loop.FaultCompletion;
        if (loop.FaultAt is not { } faultAt)
        {
            throw new DrillException($"The request loop ended before the fault was injected, after {loop.Outcomes.Count} requests.");
        }

        var analysis = DrillAnalysis.Analyze(new DrillTimeline(loop.Outcomes, faultAt, backend, master.Address, standby.Address));
        if (analysis.Takeover is { } takeover)
        {
            LabLog.TakeoverObserved(logger, variant.ToName(), standby.Name, (long)takeover.TotalMilliseconds, analysis.FailedInWindow);
        }
        else
        {
            LabLog.NoTakeover(logger, variant.ToName(), (long)(loop.Outcomes[^1].Completed - faultAt).TotalMilliseconds);
        }

        // Only after a takeover does the virtual address lead to the standby, which must resume the master's sessions.
        IReadOnlyDictionary<string, bool> tlsResumed = analysis.Takeover is null
            ? TlsResumptionProbe.Versions.ToDictionary(version => version, _ => false)
            : await tls.ResumeAsync(cancellationToken);
        long replayStart = timeProvider.GetTimestamp();
        SessionReplayResult? replay = analysis.Takeover is null ? null : await sessions.ReplayAsync(cancellationToken);
        (int Saved, int Resumed) manyTls = analysis.Takeover is null ? (0, 0) : await tls.ResumeManyAsync(cancellationToken);
        TimeSpan replayDuration = timeProvider.GetElapsedTime(replayStart);

        IReadOnlyList<LabHost> holdersAfter = await lab.FindVirtualAddressHoldersAsync([standby], cancellationToken);

        // After a host-down the dead host keeps the address on its downed link, which is harmless.
        bool? failedMasterHolds = variant == DrillVariant.HostDown
            ? null
            : (await lab.FindVirtualAddressHoldersAsync([master], cancellationToken)).Count > 0;

        byte standbyPriority = standby == topology.NodeA ? settings.NodeAPriority : settings.NodeBPriority;
        DrillReport report = BuildReport(
            variant, settings, standbyPriority, master, standby, holdersAfter, loop.KilledAt, backend, loop.Outcomes.Count, analysis, release, failedMasterHolds);
        double tlsShare = manyTls.Saved == 0 ? 0 : (double)manyTls.Resumed / manyTls.Saved;
        return report with
        {
            TlsResumed = tlsResumed.Values.All(resumed => resumed),
            TlsResumedByVersion = tlsResumed.ToDictionary(entry => entry.Key.TrimStart('-'), entry => entry.Value),
            TlsProblems = [.. tlsProblems, .. manyTlsProblems],
            AffinitySessions = sessions.Sessions.Count,
            AffinitySessionsByBackend = sessions.CountByBackend(),
            AffinityRepinned = replay?.Repinned ?? 0,
            AffinityReplayFailed = replay?.Failed ?? 0,
            TlsSessions = manyTls.Saved,
            TlsResumedShare = tlsShare,
            SessionSetupMs = (long)setupDuration.TotalMilliseconds,
            SessionReplayMs = (long)replayDuration.TotalMilliseconds,
            Problems = [.. report.Problems, .. SessionProblems(sessionProblems, replay, manyTls, tlsShare)],
        };
    }

    /// <summary>
    /// Sends requests through the virtual address until <see cref="ObserveAfterTakeover"/> after the
    /// takeover or a bound is reached, and injects the fault once <see cref="Baseline"/> has passed.
    /// </summary>
    private async Task<RequestLoop> SendRequestsAsync(
        DrillVariant variant, LabHost master, LabHost standby, string cookie, CancellationToken cancellationToken)
    {
        var outcomes = new List<RequestOutcome>();
        long clockStart = timeProvider.GetTimestamp();
        TimeSpan Now() => timeProvider.GetElapsedTime(clockStart);

        TimeSpan? faultAt = null;
        TimeSpan? takeoverAt = null;
        DateTimeOffset killedAt = default;
        Task<CommandResult?>? faultCompletion = null;
        TimeSpan nextStart = TimeSpan.Zero;

        while (outcomes.Count < MaxRequests && Now() < MaxDuration)
        {
            TimeSpan wait = nextStart - Now();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, timeProvider, cancellationToken);
            }

            if (faultAt is null && Now() >= Baseline)
            {
                // The signal is sent here, between two requests, so the fault time is exact.
                faultAt = Now();
                killedAt = timeProvider.GetUtcNow();
                faultCompletion = InjectFault(variant, master, cancellationToken);
                LabLog.FaultInjected(logger, variant.ToName(), master.Name, killedAt);
            }

            TimeSpan started = Now();
            nextStart = started + RequestPeriod;
            ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, RequestPath, cookie, cancellationToken);
            TimeSpan completed = Now();
            outcomes.Add(new RequestOutcome(started, completed, result.Failure, result.Reply?.Backend, result.Reply?.PeerAddress, result.AffinityCookie));

            // The client keeps whatever cookie it was given last, as a browser would.
            if (result.AffinityCookie is { } newCookie)
            {
                cookie = newCookie;
            }

            if (takeoverAt is null && faultAt is not null && result.Succeeded && standby.Address.Equals(result.Reply?.PeerAddress))
            {
                takeoverAt = completed;
            }

            if (takeoverAt is not null && completed - takeoverAt >= ObserveAfterTakeover)
            {
                break;
            }
        }

        return new RequestLoop(outcomes, faultAt, killedAt, faultCompletion);
    }

    /// <summary>Sends a first request without a cookie, then checks that the cookie pins the backend.</summary>
    private async Task<(string Cookie, string Backend)> EstablishAffinityAsync(LabHost master, CancellationToken cancellationToken)
    {
        ProbeResult first = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, RequestPath, null, cancellationToken);
        if (!first.Succeeded || first.Reply is null)
        {
            throw new DrillException($"The first request through {LabTopology.VirtualAddress} failed ({first.Failure}: {first.Detail}).");
        }

        if (!master.Address.Equals(first.Reply.PeerAddress))
        {
            throw new DrillException($"The first request was served by {first.Reply.Peer}, not by the master {master.Name} ({master.Address}).");
        }

        if (first.AffinityCookie is not { } cookie)
        {
            throw new DrillException($"The first response set no {LabHttpClient.AffinityCookieName} cookie, so affinity cannot be measured.");
        }

        string backend = first.Reply.Backend;
        for (int i = 0; i < AffinityChecks; i++)
        {
            ProbeResult check = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, RequestPath, cookie, cancellationToken);
            if (!check.Succeeded || check.Reply?.Backend != backend)
            {
                throw new DrillException(
                    $"Before the fault, request {i + 1} with the affinity cookie for {backend} got " +
                    $"{(check.Succeeded ? check.Reply?.Backend : $"{check.Failure}: {check.Detail}")}.");
            }
        }

        return (cookie, backend);
    }

    /// <summary>Sends the fault's first signal now and finishes the rest of the fault in the background.</summary>
    /// <returns>A task that ends with the release command's result (process-kill) or null (host-down).</returns>
    private Task<CommandResult?> InjectFault(DrillVariant variant, LabHost master, CancellationToken cancellationToken)
    {
        LabProcess process = lab.NodeProcess(master);
        switch (variant)
        {
            case DrillVariant.ProcessKill:
                process.KillHard();
                return ReleaseAfterExitAsync(process, master, cancellationToken);
            case DrillVariant.HostDown:
                process.Stop();
                return CutLinkAndKillAsync(process, master, cancellationToken);
            case DrillVariant.GracefulStop:
                process.Terminate();
                return WaitForStopAsync(process, cancellationToken);
            default:
                throw new NotSupportedException($"Unknown drill variant {variant}.");
        }
    }

    private async Task<CommandResult?> ReleaseAfterExitAsync(LabProcess process, LabHost master, CancellationToken cancellationToken)
    {
        await process.WaitForExitAsync(cancellationToken);
        return await lab.RunReleaseAsync(master, cancellationToken);
    }

    private async Task<CommandResult?> CutLinkAndKillAsync(LabProcess process, LabHost master, CancellationToken cancellationToken)
    {
        await lab.Network.SetLinkDownAsync(master, cancellationToken);
        await process.KillAndWaitAsync(TimeSpan.FromSeconds(10));
        return null;
    }

    private static async Task<CommandResult?> WaitForStopAsync(LabProcess process, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(GracefulStopTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DrillException($"{process.Name} did not exit within {GracefulStopTimeout.TotalSeconds:0} s of SIGTERM.{Environment.NewLine}{process.Describe()}");
        }

        return null;
    }

    /// <summary>Lists what went wrong with the many sessions opened before the fault and replayed after the takeover.</summary>
    private static IEnumerable<string> SessionProblems(
        IReadOnlyList<string> establishProblems, SessionReplayResult? replay, (int Saved, int Resumed) manyTls, double tlsShare)
    {
        foreach (string problem in establishProblems)
        {
            yield return $"Opening the affinity sessions before the fault: {problem}";
        }

        if (replay is null)
        {
            // Without a takeover nothing was replayed, and the takeover problem already says why.
            yield break;
        }

        if (replay.Replayed < replay.Sessions)
        {
            yield return $"Only {replay.Replayed} of {replay.Sessions} affinity sessions were replayed within {SessionReplayProbe.PhaseTimeout.TotalSeconds:0} s.";
        }

        if (replay.Repinned > 0 || replay.Failed > 0)
        {
            yield return $"Of {replay.Sessions} affinity sessions replayed to the standby, {replay.Repinned} were re-pinned and " +
                         $"{replay.Failed} failed: {string.Join("; ", replay.Examples)}";
        }

        if (manyTls.Saved > 0 && manyTls.Resumed < manyTls.Saved)
        {
            yield return $"The standby resumed {manyTls.Resumed} of {manyTls.Saved} saved TLS sessions (share {tlsShare:0.00}).";
        }
    }

    private static DrillReport BuildReport(
        DrillVariant variant, NodeSettings settings, byte standbyPriority, LabHost master, LabHost standby,
        IReadOnlyList<LabHost> holdersAfter, DateTimeOffset killedAt, string backend, int requestsSent, DrillAnalysis analysis,
        CommandResult? release, bool? failedMasterHolds)
    {
        TimeSpan bound = variant == DrillVariant.GracefulStop
            ? settings.PriorityZeroTakeoverBound(standbyPriority)
            : settings.TakeoverBound(standbyPriority);
        var problems = new List<string>();
        if (analysis.Takeover is null)
        {
            problems.Add($"{standby.Name} never answered through {LabTopology.VirtualAddress} within the drill's {MaxDuration.TotalSeconds:0} s.");
        }
        else if (analysis.Takeover > bound)
        {
            problems.Add($"The takeover took {analysis.Takeover.Value.TotalMilliseconds:0} ms, more than the bound of {bound.TotalMilliseconds:0} ms.");
        }

        if (holdersAfter.Count == 0)
        {
            problems.Add($"{standby.Name} does not hold {LabTopology.VirtualAddress} after the drill.");
        }

        if (!analysis.AffinityKept && analysis.Takeover is not null)
        {
            problems.Add(
                $"Affinity broke in {analysis.AffinityViolations.Count} responses after the fault: {string.Join("; ", analysis.AffinityViolations.Take(3))}");
        }

        if (analysis.ServedByFailedMaster > 0 && variant != DrillVariant.GracefulStop)
        {
            problems.Add($"{master.Name} served {analysis.ServedByFailedMaster} requests sent after the fault, so the fault did not take effect.");
        }

        if (analysis.FailedBeforeFault > 0)
        {
            problems.Add($"{analysis.FailedBeforeFault} requests failed before the fault, while {master.Name} was healthy.");
        }

        if (analysis.FailedAfterTakeover > 0)
        {
            problems.Add($"{analysis.FailedAfterTakeover} requests failed after {standby.Name} had taken over.");
        }

        if (release is { Succeeded: false })
        {
            problems.Add($"The release command exited with code {release.ExitCode}: {release.StandardError.Trim()}");
        }

        if (failedMasterHolds == true)
        {
            string cleanup = variant == DrillVariant.ProcessKill ? "the release command" : "its shutdown";
            problems.Add($"{master.Name} still has {LabTopology.VirtualAddress} on eth0 after {cleanup}.");
        }

        return new DrillReport
        {
            Variant = variant.ToName(),
            MasterBefore = master.Name,
            MasterAfter = holdersAfter.Count > 0 ? holdersAfter[0].Name : null,
            KilledAt = killedAt,
            TakeoverMs = analysis.Takeover is { } takeover ? (long)Math.Round(takeover.TotalMilliseconds) : null,
            FailedRequests = analysis.FailedInWindow,
            AffinityKept = analysis.AffinityKept,
            StandbyAnswered = analysis.Takeover is not null,
            Backend = backend,
            RequestsSent = requestsSent,
            FailedBeforeFault = analysis.FailedBeforeFault,
            FailedAfterTakeover = analysis.FailedAfterTakeover,
            CookiesReissued = analysis.CookiesReissued,
            ServedByFailedMaster = analysis.ServedByFailedMaster,
            FailureReasons = analysis.FailureReasons,
            AdvertisementIntervalMs = (long)settings.AdvertisementInterval.TotalMilliseconds,
            SkewTimeMs = (long)Math.Round(settings.SkewTime(standbyPriority).TotalMilliseconds),
            TakeoverBoundMs = (long)Math.Round(bound.TotalMilliseconds),
            ReleaseExitCode = release?.ExitCode,
            ReleaseMs = release is null ? null : (long)release.Duration.TotalMilliseconds,
            FailedMasterStillHoldsAddress = failedMasterHolds,
            Problems = problems,
        };
    }
}

/// <summary>What the request loop of one drill saw, and the fault it injected.</summary>
/// <param name="FaultAt">When the fault was injected, on the clock of the outcomes; null if the loop ended first.</param>
/// <param name="FaultCompletion">The rest of the fault, which ends with the release command's result for process-kill.</param>
internal sealed record RequestLoop(
    IReadOnlyList<RequestOutcome> Outcomes, TimeSpan? FaultAt, DateTimeOffset KilledAt, Task<CommandResult?>? FaultCompletion);
