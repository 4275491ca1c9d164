using Tandem.ClusterTests.Lab.Client;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>The numbers the drill reports, computed from a <see cref="DrillTimeline"/> alone.</summary>
/// <param name="Takeover">From the fault to the completion of the first successful response from the standby; null if none came.</param>
/// <param name="FailedInWindow">Requests that failed and completed between the fault and the takeover.</param>
/// <param name="FailedBeforeFault">Requests that failed before the fault; a healthy cluster has none.</param>
/// <param name="FailedAfterTakeover">Requests that failed after the takeover; a clean takeover has none.</param>
/// <param name="SucceededAfterTakeover">Successful responses after the takeover, including the first one.</param>
/// <param name="CookiesReissued">Responses after the fault that set an affinity cookie; reissuing one for the same backend is harmless.</param>
/// <param name="ServedByFailedMaster">
/// Successful requests sent after the fault that the old master served. Only a master draining
/// after SIGTERM can do that; after SIGKILL or SIGSTOP it means the fault did not take effect.
/// </param>
/// <param name="AffinityViolations">Each response after the fault that broke affinity, described.</param>
/// <param name="FailureReasons">Failed requests after the fault, counted by reason.</param>
public sealed record DrillAnalysis(
    TimeSpan? Takeover,
    int FailedInWindow,
    int FailedBeforeFault,
    int FailedAfterTakeover,
    int SucceededAfterTakeover,
    int CookiesReissued,
    int ServedByFailedMaster,
    IReadOnlyList<string> AffinityViolations,
    IReadOnlyDictionary<string, int> FailureReasons)
{
    /// <summary>
    /// True when the standby took over, responded at least once, every success after the fault
    /// came from the backend the cookie pointed to before it, and no response set a cookie for
    /// another backend.
    /// </summary>
    public bool AffinityKept => Takeover is not null && SucceededAfterTakeover > 0 && AffinityViolations.Count == 0;

    public static DrillAnalysis Analyze(DrillTimeline timeline)
    {
        RequestOutcome? takeover = timeline.Outcomes
            .Where(outcome => outcome.Succeeded && outcome.Completed >= timeline.FaultAt && timeline.Standby.Equals(outcome.ServedBy))
            .MinBy(outcome => outcome.Completed);
        TimeSpan takeoverAt = takeover?.Completed ?? TimeSpan.MaxValue;

        int failedBefore = 0, failedInWindow = 0, failedAfter = 0, succeededAfter = 0, cookiesReissued = 0, servedByFailedMaster = 0;
        var violations = new List<string>();
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (RequestOutcome outcome in timeline.Outcomes)
        {
            bool afterFault = outcome.Completed >= timeline.FaultAt;
            if (!outcome.Succeeded)
            {
                if (!afterFault)
                {
                    failedBefore++;
                    continue;
                }

                string reason = ToReasonName(outcome.Failure);
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                if (outcome.Completed <= takeoverAt)
                {
                    failedInWindow++;
                }
                else
                {
                    failedAfter++;
                }

                continue;
            }

            if (!afterFault)
            {
                continue;
            }

            if (outcome.Completed >= takeoverAt)
            {
                succeededAfter++;
            }

            string at = $"{(outcome.Completed - timeline.FaultAt).TotalMilliseconds:0} ms after the fault";
            if (outcome.AffinityCookie is not null)
            {
                cookiesReissued++;
            }

            if (outcome.Backend != timeline.Backend)
            {
                string cookie = outcome.AffinityCookie is null ? "" : " and set a new affinity cookie";
                violations.Add($"{at}: {outcome.Backend} answered instead of {timeline.Backend}{cookie} (served by {outcome.ServedBy})");
            }

            if (timeline.Master.Equals(outcome.ServedBy) && outcome.Started >= timeline.FaultAt)
            {
                servedByFailedMaster++;
            }
        }

        return new DrillAnalysis(
            takeover is null ? null : takeover.Completed - timeline.FaultAt,
            failedInWindow,
            failedBefore,
            failedAfter,
            succeededAfter,
            cookiesReissued,
            servedByFailedMaster,
            violations,
            reasons);
    }

    /// <summary>Returns the snake_case name of a failure reason, as the JSON report uses.</summary>
    public static string ToReasonName(ProbeFailure failure) => failure switch
    {
        ProbeFailure.None => "none",
        ProbeFailure.ConnectTimeout => "connect_timeout",
        ProbeFailure.ConnectionRefused => "connection_refused",
        ProbeFailure.Unreachable => "unreachable",
        ProbeFailure.ConnectionReset => "connection_reset",
        ProbeFailure.TlsFailed => "tls_failed",
        ProbeFailure.RequestTimeout => "request_timeout",
        ProbeFailure.HttpStatus => "http_status",
        ProbeFailure.InvalidBody => "invalid_body",
        ProbeFailure.Other => "other",
        _ => throw new NotSupportedException($"Unknown probe failure {failure}."),
    };
}
