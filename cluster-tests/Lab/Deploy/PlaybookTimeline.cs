using System.Globalization;
using System.Text.RegularExpressions;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>A task or handler of an <c>ansible-playbook</c> run, with when it started and the host it ran on.</summary>
public sealed record PlaybookStep(DateTimeOffset StartedAt, string Name, string Host);

/// <summary>
/// Reads when each task started from the output of the <c>ansible.posix.profile_tasks</c> callback, which
/// follows every task header with a line such as <c>Saturday 05 December 2026  00:12:00 +0000 (0:00:00.020) 0:00:03.520</c>:
/// the wall clock in whole seconds, the previous task's duration and the time since the play started, in
/// milliseconds. The lab uses it to name the step of the play during which a request through the virtual address failed.
/// </summary>
public static partial class PlaybookTimeline
{
    /// <summary>Returns the steps in output order; empty when the output has no timestamps.</summary>
    public static IReadOnlyList<PlaybookStep> Parse(string output)
    {
        var stamps = new List<(DateTimeOffset Wall, TimeSpan Elapsed, string Name, string Host)>();
        string[] lines = output.Split('\n');
        for (int index = 0; index + 1 < lines.Length; index++)
        {
            Match header = Header().Match(lines[index]);
            Match time = Timestamp().Match(lines[index + 1]);
            if (!header.Success || !time.Success)
            {
                continue;
            }

            DateTime local = DateTime.ParseExact(time.Groups["time"].Value, "dd MMMM yyyy  HH:mm:ss", CultureInfo.InvariantCulture);
            string zone = time.Groups["zone"].Value;
            var offset = new TimeSpan(int.Parse(zone[1..3], CultureInfo.InvariantCulture), int.Parse(zone[3..5], CultureInfo.InvariantCulture), 0);
            TimeSpan elapsed = TimeSpan.Parse(time.Groups["elapsed"].Value, CultureInfo.InvariantCulture);
            string host = lines.Skip(index + 2).Take(5).Select(line => Host().Match(line)).FirstOrDefault(match => match.Success)?.Groups["host"].Value ?? "";
            stamps.Add((new DateTimeOffset(local, zone[0] == '-' ? -offset : offset), elapsed, header.Groups["name"].Value, host));
        }

        if (stamps.Count == 0)
        {
            return [];
        }

        // Each wall clock is the play's start plus the elapsed time, cut to whole seconds, so the latest
        // wall clock minus elapsed time is the closest estimate of the start that no stamp contradicts.
        DateTimeOffset start = stamps.Max(stamp => stamp.Wall - stamp.Elapsed);
        return stamps.Select(stamp => new PlaybookStep(start + stamp.Elapsed, stamp.Name, stamp.Host)).ToList();
    }

    /// <summary>
    /// Names the step that ran at <paramref name="at"/>: the last one that started at or before it and the
    /// next one. The start times may be early by up to a second, less the more steps the play ran.
    /// </summary>
    public static string PhaseAt(IReadOnlyList<PlaybookStep> steps, DateTimeOffset at)
    {
        int next = 0;
        while (next < steps.Count && steps[next].StartedAt <= at)
        {
            next++;
        }

        string Describe(PlaybookStep step) => $"'{step.Name}' on {step.Host} at {step.StartedAt:HH:mm:ss.fff}";
        string before = next > 0 ? Describe(steps[next - 1]) : "the start of the play";
        string after = next < steps.Count ? Describe(steps[next]) : "the end of the play";
        return $"{at:HH:mm:ss.fff}, after {before} and before {after}";
    }

    [GeneratedRegex(@"^(?:TASK|RUNNING HANDLER) \[(?<name>[^\]]+)\]")]
    private static partial Regex Header();

    [GeneratedRegex(@"^\w+ (?<time>\d{2} \w+ \d{4}  \d{2}:\d{2}:\d{2}) (?<zone>[+-]\d{4}) \([^)]*\)\s+(?<elapsed>\d+:\d{2}:\d{2}\.\d+)")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"^(?:ok|changed|skipping|fatal|failed|FAILED - RETRYING): \[(?<host>[^\]]+)\]|^included: .* for (?<host>\S+)")]
    private static partial Regex Host();
}
