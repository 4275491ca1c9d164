using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Tandem.ClusterTests.Lab.Network;

/// <summary>
/// Removes what earlier lab runs left behind when their process died before teardown, for example
/// a test host killed on a timeout. A run counts as abandoned only when its run directory names
/// an owner process that no longer exists, so live runs and namespaces of other tools stay untouched.
/// </summary>
internal static partial class AbandonedRunSweeper
{
    public const string OwnerFileName = "owner";

    /// <summary>Writes the owner file of a run: this process's PID and start time, which together identify it even after PID reuse.</summary>
    public static void WriteOwner(string runDirectory) =>
        File.WriteAllText(Path.Combine(runDirectory, OwnerFileName), $"{Environment.ProcessId} {ReadStartTime(Environment.ProcessId)}");

    /// <summary>Deletes the namespaces, processes and run directory of every abandoned run.</summary>
    public static async Task SweepAsync(ILogger logger)
    {
        IReadOnlyList<string> namespaces = await LabNetwork.ListNamespacesAsync(LabTopology.NamePrefix);
        IEnumerable<string> runIds = namespaces
            .Select(name => RunNamespace().Match(name))
            .Where(match => match.Success)
            .Select(match => match.Groups["run"].Value)
            .Distinct();

        foreach (string runId in runIds)
        {
            string runDirectory = Path.Combine(Path.GetTempPath(), $"{LabTopology.NamePrefix}{runId}");
            if (!IsAbandoned(runDirectory))
            {
                continue;
            }

            LabLog.SweepingAbandonedRun(logger, runId);
            var network = LabNetwork.ForCleanup(LabTopology.ForRun(runId), logger);
            await network.DeleteAsync();
            Directory.Delete(runDirectory, recursive: true);
        }
    }

    internal static bool IsAbandoned(string runDirectory)
    {
        string ownerPath = Path.Combine(runDirectory, OwnerFileName);
        string[] owner;
        try
        {
            owner = File.ReadAllText(ownerPath).Split(' ');
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // No owner file: not a run of this lab, or one still being created.
            return false;
        }

        if (owner.Length != 2 || !int.TryParse(owner[0], CultureInfo.InvariantCulture, out int pid))
        {
            return false;
        }

        return ReadStartTime(pid) != owner[1];
    }

    /// <summary>Returns field 22 of /proc/PID/stat, the start time in clock ticks since boot, or "gone".</summary>
    private static string ReadStartTime(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name in field 2 may contain spaces, so count fields after its closing parenthesis.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[19];
        }
        catch (IOException)
        {
            return "gone";
        }
    }

    [GeneratedRegex("^tdm-(?<run>[0-9a-f]{6})-")]
    private static partial Regex RunNamespace();
}
