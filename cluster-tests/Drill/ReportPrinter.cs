using System.Globalization;
using System.Text;
using Tandem.ClusterTests.Lab.Drill;

namespace Tandem.ClusterTests.Drill;

/// <summary>Formats a drill report for a person to read.</summary>
internal static class ReportPrinter
{
    public static string Format(DrillReport report, string teardown)
    {
        var text = new StringBuilder();
        string verdict = report.Passed ? "PASSED" : "FAILED";
        text.AppendLine(CultureInfo.InvariantCulture, $"Failover drill ({report.Variant}): {verdict}");
        Row(text, "master before", report.MasterBefore);
        Row(text, "fault", DescribeFault(report));
        string formula = report.Variant == DrillVariantNames.GracefulStop
            ? $"skew {report.SkewTimeMs} ms + 1 s"
            : $"3 x {report.AdvertisementIntervalMs} ms + skew {report.SkewTimeMs} ms + 1 s";
        Row(text, "takeover", report.TakeoverMs is { } takeover
            ? $"the standby responded {takeover} ms after the fault (bound {report.TakeoverBoundMs} ms = {formula})"
            : "the standby never responded");
        Row(text, "failed requests", $"{report.FailedRequests} in the window{DescribeReasons(report)}, of {report.RequestsSent} sent");
        Row(text, "affinity", report.AffinityKept
            ? $"kept: every response after the takeover came from {report.Backend}"
            : $"LOST: the cookie pointed to {report.Backend} before the fault");
        string spread = string.Join(", ", report.AffinitySessionsByBackend.Select(entry => $"{entry.Key} {entry.Value}"));
        Row(text, "sessions", $"{report.AffinitySessions} cookies ({spread}) replayed to the standby: " +
                              $"{report.AffinityRepinned} re-pinned, {report.AffinityReplayFailed} failed");
        Row(text, "tls resumption", DescribeTls(report));
        Row(text, "tls sessions", $"{report.TlsSessions} saved, share resumed by the standby {report.TlsResumedShare:0.00}");
        Row(text, "master after", report.MasterAfter ?? "none");
        Row(text, "teardown", teardown);
        foreach (string problem in report.Problems)
        {
            Row(text, "problem", problem);
        }

        return text.ToString();
    }

    private static string DescribeFault(DrillReport report)
    {
        string at = report.KilledAt.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);
        return report.Variant switch
        {
            DrillVariantNames.ProcessKill =>
                $"SIGKILL of {report.MasterBefore} at {at}, then tandem-node release (exit {report.ReleaseExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {report.ReleaseMs} ms)",
            DrillVariantNames.HostDown =>
                $"SIGSTOP of {report.MasterBefore} at {at}, its link cut, then SIGKILL",
            DrillVariantNames.GracefulStop =>
                $"SIGTERM of {report.MasterBefore} at {at}",
            _ => $"{report.Variant} of {report.MasterBefore} at {at}",
        };
    }

    private static string DescribeTls(DrillReport report)
    {
        string versions = string.Join(", ", report.TlsResumedByVersion.Select(entry => $"{entry.Key} {(entry.Value ? "reused" : "new")}"));
        string verdict = report.TlsResumed
            ? $"kept: the standby resumed the master's sessions ({versions})"
            : $"LOST: the standby made full handshakes ({versions})";
        return report.TlsProblems.Count == 0 ? verdict : $"{verdict}; {string.Join("; ", report.TlsProblems)}";
    }

    private static string DescribeReasons(DrillReport report) =>
        report.FailureReasons.Count == 0
            ? ""
            : $" ({string.Join(", ", report.FailureReasons.Select(reason => $"{reason.Key} {reason.Value}"))})";

    private static void Row(StringBuilder text, string label, string value) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"  {label,-16} {value}");
}
