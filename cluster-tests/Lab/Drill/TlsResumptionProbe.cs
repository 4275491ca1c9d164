using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>
/// Checks TLS session resumption across a failover with <c>openssl s_client</c> from the client namespace: before the
/// fault it saves a session from the master through the virtual address, and after the takeover it offers that
/// session to the standby through the same address. The nodes share their ticket keys through Redis, so the standby
/// should print <c>Reused</c>.
/// </summary>
public sealed class TlsResumptionProbe(ClusterLab lab)
{
    /// <summary>The s_client options of the protocol versions checked, TLS 1.3 first.</summary>
    public static readonly IReadOnlyList<string> Versions = ["-tls1_3", "-tls1_2"];

    /// <summary>How many further sessions <see cref="SaveManyAsync"/> saves, alternating between the versions.</summary>
    public const int ManySessionCount = 50;

    /// <summary>How many s_client processes <see cref="SaveManyAsync"/> and <see cref="ResumeManyAsync"/> run at once.</summary>
    public const int ManySessionConcurrency = 4;

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    // One HTTP/1.1 request, then the server closes: s_client reads the TLS 1.3 tickets, which arrive after the
    // handshake, before it saves the session. "$@" carries the s_client arguments, so no path enters the script.
    private const string Script =
        "printf 'GET /drill HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' \"$0\" | exec openssl s_client \"$@\"";

    /// <summary>Saves one session per version from the current master; returns a message per version that failed, with the cause.</summary>
    public async Task<IReadOnlyList<string>> SaveSessionsAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (string version in Versions)
        {
            CommandResult result = await RunAsync(version, ["-sess_out", SessionPath(version)], cancellationToken);
            if (!File.Exists(SessionPath(version)))
            {
                problems.Add($"openssl s_client {version} saved no session (exit {result.ExitCode}): {LastLines(result)}");
            }
        }

        return problems;
    }

    /// <summary>Offers each saved session to the node that has the virtual address now; true per version when it resumed.</summary>
    public async Task<IReadOnlyDictionary<string, bool>> ResumeAsync(CancellationToken cancellationToken)
    {
        var resumed = new Dictionary<string, bool>();
        foreach (string version in Versions)
        {
            if (!File.Exists(SessionPath(version)))
            {
                resumed[version] = false;
                continue;
            }

            CommandResult result = await RunAsync(version, ["-sess_in", SessionPath(version)], cancellationToken);
            resumed[version] = result.StandardOutput.Contains("\nReused, ", StringComparison.Ordinal);
        }

        return resumed;
    }

    /// <summary>
    /// Saves <see cref="ManySessionCount"/> sessions from the current master, a few at a time; returns a message per
    /// session that was not saved, at most five.
    /// </summary>
    public async Task<IReadOnlyList<string>> SaveManyAsync(CancellationToken cancellationToken)
    {
        string?[] problems = await RunManyAsync<string?>(
            async index =>
            {
                string version = Versions[index % Versions.Count];
                CommandResult result = await RunAsync(version, ["-sess_out", ManySessionPath(index)], cancellationToken);
                return File.Exists(ManySessionPath(index))
                    ? null
                    : $"session {index} ({version}) was not saved (exit {result.ExitCode}): {LastLines(result)}";
            },
            cancellationToken);
        return problems.OfType<string>().Take(5).ToList();
    }

    /// <summary>
    /// Offers every session saved by <see cref="SaveManyAsync"/> to the node that has the virtual address now; returns
    /// how many were saved and how many of those resumed.
    /// </summary>
    public async Task<(int Saved, int Resumed)> ResumeManyAsync(CancellationToken cancellationToken)
    {
        bool?[] outcomes = await RunManyAsync<bool?>(
            async index =>
            {
                if (!File.Exists(ManySessionPath(index)))
                {
                    return null;
                }

                string version = Versions[index % Versions.Count];
                CommandResult result = await RunAsync(version, ["-sess_in", ManySessionPath(index)], cancellationToken);
                return result.StandardOutput.Contains("\nReused, ", StringComparison.Ordinal);
            },
            cancellationToken);
        return (outcomes.Count(outcome => outcome is not null), outcomes.Count(outcome => outcome == true));
    }

    private static async Task<T[]> RunManyAsync<T>(Func<int, Task<T>> run, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(ManySessionConcurrency);
        IEnumerable<Task<T>> tasks = Enumerable.Range(0, ManySessionCount).Select(async index =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                return await run(index);
            }
            finally
            {
                slots.Release();
            }
        });
        return await Task.WhenAll(tasks);
    }

    private string ManySessionPath(int index) => Path.Combine(lab.RunDirectory, $"tls-session-{index}.pem");

    private string SessionPath(string version) => Path.Combine(lab.RunDirectory, $"tls-session{version}.pem");

    private Task<CommandResult> RunAsync(string version, IReadOnlyList<string> sessionArguments, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(
            "ip",
            [
                "netns", "exec", lab.Topology.Client.Namespace, "sh", "-c", Script, LabTopology.ServiceHostName,
                "-connect", $"{LabTopology.VirtualAddress}:{LabTopology.ProxyPort}",
                "-servername", LabTopology.ServiceHostName, version, "-ign_eof", .. sessionArguments,
            ],
            CommandTimeout,
            cancellationToken);

    private static string LastLines(CommandResult result) =>
        string.Join(" | ", (result.StandardError + result.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3));
}
