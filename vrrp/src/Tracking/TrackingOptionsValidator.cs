using System.Runtime.InteropServices;

namespace Tandem.Vrrp.Tracking;

/// <summary>Checks the tracking, preempt delay, later gratuitous ARP and notify settings of <see cref="VrrpOptions"/>.</summary>
internal static partial class TrackingOptionsValidator
{
    internal const int MaxPreemptDelaySeconds = 1000;
    internal const int MaxGratuitousArpMasterDelaySeconds = 1000;
    internal const int MaxGratuitousArpRefreshSeconds = 86_400;
    internal const int MinTrackIntervalMilliseconds = 100;
    internal const int MaxTrackIntervalMilliseconds = 60_000;
    internal const int MaxNotifyTimeoutSeconds = 3600;

    public static void Validate(VrrpOptions options, List<string> errors)
    {
        var section = VrrpOptions.SectionName;
        CheckRange(errors, $"{section}:{nameof(VrrpOptions.PreemptDelaySeconds)}", options.PreemptDelaySeconds, 0, MaxPreemptDelaySeconds, "seconds; 0 preempts at once");
        CheckRange(errors, $"{section}:{nameof(VrrpOptions.GratuitousArpMasterDelaySeconds)}", options.GratuitousArpMasterDelaySeconds, 0, MaxGratuitousArpMasterDelaySeconds, "seconds; 0 sends no second burst");
        CheckRange(errors, $"{section}:{nameof(VrrpOptions.GratuitousArpRefreshSeconds)}", options.GratuitousArpRefreshSeconds, 0, MaxGratuitousArpRefreshSeconds, "seconds; 0 sends no periodic bursts");
        CheckRange(errors, $"{section}:{nameof(VrrpOptions.TrackIntervalMilliseconds)}", options.TrackIntervalMilliseconds, MinTrackIntervalMilliseconds, MaxTrackIntervalMilliseconds, "milliseconds");
        CheckRange(errors, $"{section}:{nameof(VrrpOptions.NotifyTimeoutSeconds)}", options.NotifyTimeoutSeconds, 1, MaxNotifyTimeoutSeconds, "seconds");

        if (!string.IsNullOrEmpty(options.NotifyCommand))
        {
            ValidateNotifyCommand(options.NotifyCommand, errors);
        }

        ValidateTrack(options, errors);
    }

    /// <summary>
    /// Checks that the notify command is an executable file, so that a broken path fails at startup and not at the
    /// first state change.
    /// </summary>
    private static void ValidateNotifyCommand(string command, List<string> errors)
    {
        var key = $"{VrrpOptions.SectionName}:{nameof(VrrpOptions.NotifyCommand)}";
        if (!Path.IsPathFullyQualified(command))
        {
            errors.Add($"{key} '{command}' is not an absolute path. Give the full path of an executable; it runs without a shell, so it cannot contain arguments.");
            return;
        }

        if (Directory.Exists(command))
        {
            errors.Add($"{key} '{command}' is a directory. Give the full path of an executable file.");
            return;
        }

        if (!File.Exists(command))
        {
            // Whitespace in a path that does not exist most likely separates arguments, which the command cannot take.
            errors.Add(command.Any(char.IsWhiteSpace)
                ? $"{key} '{command}' contains arguments. The command runs without a shell and receives keepalived's four notify arguments, so give only the path of an executable; put other arguments in a wrapper script."
                : $"{key} '{command}' is not found. Give the full path of an existing executable file.");
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // access(2) applies the mode bits to this process's user, so root passes when any execute bit is set.
        if (Access(command, ExecuteOk) != 0)
        {
            var mode = Convert.ToString((int)File.GetUnixFileMode(command), 8);
            errors.Add($"{key} '{command}' is not executable by the user that runs the node (mode {mode}). Run chmod +x on it, or give that user execute permission.");
        }
    }

    private const int ExecuteOk = 1;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);

    private static void ValidateTrack(VrrpOptions options, List<string> errors)
    {
        var key = $"{VrrpOptions.SectionName}:{nameof(VrrpOptions.Track)}";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = options.Track ?? [];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry is null)
            {
                continue;
            }

            var entryKey = $"{key}:{i}";
            if (!TrackedCondition.TryParse(entry.Condition, out var kind, out var argument, out var problem))
            {
                errors.Add($"{entryKey}:{nameof(VrrpTrackOptions.Condition)} '{entry.Condition}' is invalid: {problem}. Use link:IFNAME, file:/ABSOLUTE/PATH, listener, pool:CLUSTER_ID or store.");
            }
            else if (!seen.Add(new TrackedCondition(kind, argument, 0).Name))
            {
                errors.Add($"{entryKey}:{nameof(VrrpTrackOptions.Condition)} '{entry.Condition}' repeats an earlier entry. Remove the duplicate.");
            }

            if (entry.Weight is < 0 or > TrackedConditionMonitor.MaxWeight)
            {
                errors.Add($"{entryKey}:{nameof(VrrpTrackOptions.Weight)} {entry.Weight} is out of range. Set it from 1 to {TrackedConditionMonitor.MaxWeight} to lower the priority by that much on failure, or to 0 to make a failure a fault.");
            }
            else if (entry.Weight != 0 && options.Priority == 255)
            {
                // RFC 9568 §5.2.4 reserves 255 for the address owner, so its priority cannot drop; keepalived 2.2.7 requires weight 0 here too.
                errors.Add($"{entryKey}:{nameof(VrrpTrackOptions.Weight)} is {entry.Weight}, but {VrrpOptions.SectionName}:{nameof(VrrpOptions.Priority)} is 255, the address owner, whose priority never drops. Set the weight to 0 or lower the priority.");
            }
        }
    }

    private static void CheckRange(List<string> errors, string key, int value, int min, int max, string unit)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} {value} is out of range. Set it from {min} to {max} {unit}.");
        }
    }
}
