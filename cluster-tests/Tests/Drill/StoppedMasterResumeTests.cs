using System.Net;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Drill;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Drill;

/// <summary>
/// The master is frozen with SIGSTOP long enough for the backup to take over, then resumed.
/// The resumed master never left Master, so it replies to the backup's lower-priority advert, and the
/// backup steps down. The master must also send gratuitous ARP then, because the client learned the
/// backup's MAC during the takeover. Without a new announcement the client keeps sending to that MAC
/// until its ARP entry expires, which took about 34 s in this lab.
/// </summary>
public sealed class StoppedMasterResumeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RequestPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(25);
    private const int MaxRequests = 1_200;

    /// <summary>Requests before SIGSTOP, to show the path through node-a works.</summary>
    private static readonly TimeSpan Baseline = TimeSpan.FromMilliseconds(500);

    /// <summary>Longer than node-b's takeover bound, so node-b is master and has announced its MAC before SIGCONT.</summary>
    private static readonly TimeSpan Freeze = TimeSpan.FromSeconds(5);

    /// <summary>How long after SIGCONT node-b may still hold the virtual address next to node-a.</summary>
    private static readonly TimeSpan SoleHolderBound = TimeSpan.FromSeconds(3);

    /// <summary>How long after node-b removed the address the client may still fail.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(2);

    /// <summary>The loop runs at least this long after SIGCONT, then stops after a second without failures.</summary>
    private static readonly TimeSpan ObserveAfterResume = TimeSpan.FromSeconds(4);

    private static readonly TimeSpan HolderPollInterval = TimeSpan.FromMilliseconds(50);

    private const string RequestPath = "/drill";

    [Fact(Timeout = 240_000)]
    public async Task StoppedMaster_Resumed_ClientRecoversWithinTwoSeconds()
    {
        await LabGate.RequireAsync(LabRequirements.Cluster);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        TimeProvider time = TimeProvider.System;
        var logger = new TestOutputLogger(output, time);
        var options = new ClusterLabOptions();
        NodeSettings settings = options.Nodes;
        Assert.True(
            Freeze > settings.TakeoverBound(settings.NodeBPriority),
            $"The freeze of {Freeze.TotalMilliseconds:0} ms must outlast node-b's takeover bound of {settings.TakeoverBound(settings.NodeBPriority).TotalMilliseconds:0} ms.");

        IReadOnlyList<LabHost> holdersBefore;
        IReadOnlyList<LabHost> holdersAfter;
        IReadOnlyList<RequestOutcome> outcomes;
        FreezeTimeline freeze;
        LabTopology topology;
        string processes;
        ClusterLab lab = await ClusterLab.CreateAsync(options, logger, time, cancellationToken);
        await using (lab)
        {
            topology = lab.Topology;
            await lab.StartAllAsync(cancellationToken);
            holdersBefore = await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken);

            long clockStart = time.GetTimestamp();
            var resumed = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var loopCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task<IReadOnlyList<RequestOutcome>> loop = SendRequestsAsync(lab, time, clockStart, resumed.Task, loopCancellation.Token);
            try
            {
                freeze = await FreezeAndResumeAsync(lab, time, clockStart, resumed, cancellationToken);
                outcomes = await loop;
            }
            finally
            {
                // Stop the loop before teardown when the freeze failed, so no request runs against a deleted namespace.
                await loopCancellation.CancelAsync();
                await ((Task)loop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            }

            holdersAfter = await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken);
            processes = lab.DescribeProcesses();
        }

        ResumeMeasurement measured = ResumeMeasurement.From(outcomes, freeze, topology.NodeA.Address);
        output.WriteLine(
            $"requests={outcomes.Count} failed_before_stop={outcomes.Count(o => o.Completed < freeze.StoppedAt && !o.Succeeded)} " +
            $"node_b_holds_ms_after_stop={Milliseconds(freeze.TakeoverSeenAt - freeze.StoppedAt)} " +
            $"served_by_node_b_during_freeze={CountServedBy(outcomes, topology.NodeB.Address, freeze.StoppedAt, freeze.ResumedAt)}");
        output.WriteLine(
            $"after_sigcont: node_b_released_ms={Milliseconds(freeze.ReleasedAt - freeze.ResumedAt)} " +
            $"sole_holder_ms={Milliseconds(freeze.SoleHolderAt - freeze.ResumedAt)} " +
            $"first_success_ms={Milliseconds(measured.FirstSuccess?.Completed - freeze.ResumedAt)} " +
            $"first_success_after_release_ms={Milliseconds(measured.RecoveredAfterRelease?.Completed - freeze.ResumedAt)} " +
            $"longest_failure_run={measured.LongestFailureRun} requests over {measured.LongestFailureSpan.TotalMilliseconds:0} ms " +
            $"failures={measured.Failures} ({string.Join(", ", measured.FailureReasons.Select(r => $"{r.Key}={r.Value}"))})");
        string context = DescribeOutcomes(outcomes, freeze);

        output.WriteLine(context);

        Assert.Equal([topology.NodeA], holdersBefore);

        // A request in flight at SIGSTOP may fail; one that ended before it shows a broken path.
        Assert.DoesNotContain(outcomes, o => o.Completed < freeze.StoppedAt && !o.Succeeded);
        Assert.True(freeze.TakeoverSeenAt is not null, $"node-b never added {LabTopology.VirtualAddress} while node-a was stopped.{Environment.NewLine}{context}{Environment.NewLine}{processes}");

        // Only a client whose ARP entry points at node-b reaches it through the virtual address,
        // which is the state that the resumed master has to correct.
        Assert.True(
            CountServedBy(outcomes, topology.NodeB.Address, freeze.StoppedAt, freeze.ResumedAt) > 0,
            $"No request reached node-b while node-a was stopped, so the client never used node-b's MAC.{Environment.NewLine}{context}{Environment.NewLine}{processes}");

        Assert.True(
            freeze.SoleHolderAt is not null,
            $"node-a was not the only holder of {LabTopology.VirtualAddress} within {SoleHolderBound.TotalMilliseconds:0} ms of SIGCONT; " +
            $"the last holders were: {freeze.LastHolders}.{Environment.NewLine}{context}{Environment.NewLine}{processes}");
        Assert.Equal([topology.NodeA], holdersAfter);
        Assert.NotNull(freeze.ReleasedAt);
        Assert.True(
            measured.RecoveredAfterRelease is { } recovered && recovered.Completed - freeze.ReleasedAt.Value <= RecoveryBound,
            $"No request through {LabTopology.VirtualAddress} succeeded within {RecoveryBound.TotalMilliseconds:0} ms of node-b removing the address " +
            $"(first success after it: {Milliseconds(measured.RecoveredAfterRelease?.Completed - freeze.ReleasedAt)} ms).{Environment.NewLine}{context}{Environment.NewLine}{processes}");

        Assert.Empty(lab.TeardownProblems);
        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }

    /// <summary>
    /// Sends a request through the virtual address every <see cref="RequestPeriod"/> until
    /// <see cref="ObserveAfterResume"/> after SIGCONT and a second without failures, or until a bound is reached.
    /// </summary>
    private static async Task<IReadOnlyList<RequestOutcome>> SendRequestsAsync(
        ClusterLab lab, TimeProvider time, long clockStart, Task<TimeSpan> resumed, CancellationToken cancellationToken)
    {
        var outcomes = new List<RequestOutcome>();
        TimeSpan Now() => time.GetElapsedTime(clockStart);
        TimeSpan nextStart = TimeSpan.Zero;
        TimeSpan lastFailure = TimeSpan.Zero;
        while (outcomes.Count < MaxRequests && Now() < MaxDuration)
        {
            TimeSpan wait = nextStart - Now();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken);
            }

            TimeSpan started = Now();
            nextStart = started + RequestPeriod;
            ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, RequestPath, null, cancellationToken);
            TimeSpan completed = Now();
            outcomes.Add(new RequestOutcome(started, completed, result.Failure, result.Reply?.Backend, result.Reply?.PeerAddress, result.AffinityCookie));
            if (!result.Succeeded)
            {
                lastFailure = completed;
            }

            if (resumed.IsCompletedSuccessfully && completed - resumed.Result >= ObserveAfterResume && completed - lastFailure >= TimeSpan.FromSeconds(1))
            {
                break;
            }
        }

        return outcomes;
    }

    /// <summary>
    /// Stops node-a for <see cref="Freeze"/> while watching node-b take the address, resumes it,
    /// then watches until node-a is the only holder of the address or <see cref="SoleHolderBound"/> passes.
    /// </summary>
    private static async Task<FreezeTimeline> FreezeAndResumeAsync(
        ClusterLab lab, TimeProvider time, long clockStart, TaskCompletionSource<TimeSpan> resumed, CancellationToken cancellationToken)
    {
        TimeSpan Now() => time.GetElapsedTime(clockStart);
        LabTopology topology = lab.Topology;
        LabProcess nodeA = lab.NodeProcess(topology.NodeA);

        await Task.Delay(Baseline, time, cancellationToken);
        TimeSpan stoppedAt = Now();
        nodeA.Stop();
        TimeSpan? takeoverSeenAt = null;
        TimeSpan resumedAt;
        try
        {
            while (Now() - stoppedAt < Freeze)
            {
                if (takeoverSeenAt is null && await lab.Network.HasAddressAsync(topology.NodeB, LabTopology.VirtualAddress, cancellationToken))
                {
                    takeoverSeenAt = Now();
                }

                TimeSpan remaining = Freeze - (Now() - stoppedAt);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining < HolderPollInterval ? remaining : HolderPollInterval, time, cancellationToken);
                }
            }
        }
        finally
        {
            resumedAt = Now();
            nodeA.Resume();
            resumed.SetResult(resumedAt);
        }

        TimeSpan? releasedAt = null;
        TimeSpan? soleHolderAt = null;
        string lastHolders = "not checked";
        while (soleHolderAt is null && Now() - resumedAt < SoleHolderBound)
        {
            IReadOnlyList<LabHost> holders = await lab.FindVirtualAddressHoldersAsync(topology.Nodes, cancellationToken);
            TimeSpan checkedAt = Now();
            lastHolders = holders.Count == 0 ? "none" : string.Join(", ", holders.Select(holder => holder.Name));
            if (releasedAt is null && !holders.Contains(topology.NodeB))
            {
                releasedAt = checkedAt;
            }

            if (holders.Count == 1 && holders[0] == topology.NodeA)
            {
                soleHolderAt = checkedAt;
                break;
            }

            await Task.Delay(HolderPollInterval, time, cancellationToken);
        }

        return new FreezeTimeline(stoppedAt, takeoverSeenAt, resumedAt, releasedAt, soleHolderAt, lastHolders);
    }

    private static int CountServedBy(IReadOnlyList<RequestOutcome> outcomes, IPAddress node, TimeSpan from, TimeSpan to) =>
        outcomes.Count(o => o.Started >= from && o.Started < to && o.Succeeded && node.Equals(o.ServedBy));

    private static string Milliseconds(TimeSpan? span) => span is { } value ? value.TotalMilliseconds.ToString("0") : "none";

    /// <summary>Lists each run of equal outcomes from SIGSTOP on, for failure messages.</summary>
    private static string DescribeOutcomes(IReadOnlyList<RequestOutcome> outcomes, FreezeTimeline freeze)
    {
        var lines = new List<string>
        {
            $"SIGSTOP at {Milliseconds(freeze.StoppedAt)} ms, node-b held the address at {Milliseconds(freeze.TakeoverSeenAt)} ms, " +
            $"SIGCONT at {Milliseconds(freeze.ResumedAt)} ms, node-b released at {Milliseconds(freeze.ReleasedAt)} ms, " +
            $"node-a alone at {Milliseconds(freeze.SoleHolderAt)} ms; requests from SIGSTOP on:",
        };
        RequestOutcome[] fromStop = [.. outcomes.Where(o => o.Started >= freeze.StoppedAt)];
        for (int first = 0, next; first < fromStop.Length; first = next)
        {
            string label = Describe(fromStop[first]);
            next = first + 1;
            while (next < fromStop.Length && Describe(fromStop[next]) == label)
            {
                next++;
            }

            lines.Add($"  from {fromStop[first].Started.TotalMilliseconds:0} ms: {next - first} x {label}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static string Describe(RequestOutcome outcome) => outcome.Succeeded ? $"served by {outcome.ServedBy}" : outcome.Failure.ToString();

    /// <summary>What the freeze and resume looked like, on the clock of the request loop.</summary>
    /// <param name="TakeoverSeenAt">When node-b was first seen with the address during the freeze; null if never.</param>
    /// <param name="ReleasedAt">When node-b was first seen without the address after SIGCONT; null if it kept it.</param>
    /// <param name="SoleHolderAt">When node-a was first seen as the only holder after SIGCONT; null if not within the bound.</param>
    private sealed record FreezeTimeline(
        TimeSpan StoppedAt, TimeSpan? TakeoverSeenAt, TimeSpan ResumedAt, TimeSpan? ReleasedAt, TimeSpan? SoleHolderAt, string LastHolders);

    /// <summary>How the client fared from SIGCONT on.</summary>
    /// <param name="FirstSuccess">The first request started after SIGCONT that succeeded through node-a.</param>
    /// <param name="RecoveredAfterRelease">The first request through node-a that completed after node-b removed the address.</param>
    /// <param name="LongestFailureSpan">From the start of the first to the end of the last request of the longest failure run.</param>
    private sealed record ResumeMeasurement(
        RequestOutcome? FirstSuccess,
        RequestOutcome? RecoveredAfterRelease,
        int LongestFailureRun,
        TimeSpan LongestFailureSpan,
        int Failures,
        IReadOnlyDictionary<ProbeFailure, int> FailureReasons)
    {
        public static ResumeMeasurement From(IReadOnlyList<RequestOutcome> outcomes, FreezeTimeline freeze, IPAddress nodeA)
        {
            List<RequestOutcome> afterResume = [.. outcomes.Where(o => o.Started >= freeze.ResumedAt)];
            bool ServedByNodeA(RequestOutcome o) => o.Succeeded && nodeA.Equals(o.ServedBy);

            int longestRun = 0;
            TimeSpan longestSpan = TimeSpan.Zero;
            int run = 0;
            TimeSpan runStart = TimeSpan.Zero;
            foreach (RequestOutcome outcome in afterResume)
            {
                if (outcome.Succeeded)
                {
                    run = 0;
                    continue;
                }

                if (run == 0)
                {
                    runStart = outcome.Started;
                }

                run++;
                if (run > longestRun)
                {
                    longestRun = run;
                    longestSpan = outcome.Completed - runStart;
                }
            }

            return new ResumeMeasurement(
                afterResume.FirstOrDefault(ServedByNodeA),
                freeze.ReleasedAt is { } released ? outcomes.FirstOrDefault(o => ServedByNodeA(o) && o.Completed >= released) : null,
                longestRun,
                longestSpan,
                afterResume.Count(o => !o.Succeeded),
                afterResume.Where(o => !o.Succeeded).GroupBy(o => o.Failure).ToDictionary(g => g.Key, g => g.Count()));
        }
    }
}
