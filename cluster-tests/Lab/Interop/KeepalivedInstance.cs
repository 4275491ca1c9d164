using System.Globalization;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Interop;

/// <summary>
/// A keepalived 2.2.7 process that a lab runs in one of its namespaces, in the foreground with its own config and
/// pid files in the run directory.
/// </summary>
/// <remarks>
/// keepalived runs as a parent that supervises a VRRP child. SIGKILL to the parent alone makes the child shut down
/// cleanly: it sends priority 0 and removes the virtual address, which is not a crash. <see cref="KillHardAsync"/>
/// therefore freezes the parent, kills the child, then kills the parent.
/// </remarks>
public sealed class KeepalivedInstance
{
    /// <summary>Debian's keepalived binary.</summary>
    public const string ExecutablePath = "/usr/sbin/keepalived";

    private readonly string _vrrpPidFile;

    private KeepalivedInstance(LabProcess parent, string vrrpPidFile)
    {
        Parent = parent;
        _vrrpPidFile = vrrpPidFile;
    }

    /// <summary>The keepalived parent process, which <c>ip netns exec</c> replaced itself with.</summary>
    public LabProcess Parent { get; }

    /// <summary>
    /// Writes the config and starts keepalived with <c>-n</c> (no fork), <c>-l -D</c> (detailed log to the
    /// console, so into the process log), <c>-P</c> (VRRP only) and per-run pid files.
    /// </summary>
    public static KeepalivedInstance Start(ClusterLab lab, LabHost host, KeepalivedConfig config, string name)
    {
        string configPath = Path.Combine(lab.RunDirectory, $"{name}.conf");
        File.WriteAllText(configPath, config.Render());
        string pidFile = Path.Combine(lab.RunDirectory, $"{name}.pid");
        string vrrpPidFile = Path.Combine(lab.RunDirectory, $"{name}-vrrp.pid");
        LabProcess parent = lab.StartProcess(
            name,
            host.Namespace,
            ExecutablePath,
            ["-n", "-l", "-D", "-P", "-f", configPath, "-p", pidFile, "-r", vrrpPidFile]);
        return new KeepalivedInstance(parent, vrrpPidFile);
    }

    /// <summary>Returns whether keepalived logged that its instance entered <paramref name="state"/> (BACKUP, MASTER or FAULT).</summary>
    public bool HasLoggedState(string state) =>
        Parent.ReadLogTail(500).Contains($"Entering {state} STATE", StringComparison.Ordinal);

    /// <summary>
    /// Ends keepalived the way a crash would, without a priority-0 advert or address removal, and waits until
    /// both processes are gone from the namespace.
    /// </summary>
    public async Task KillHardAsync(CancellationToken cancellationToken)
    {
        Parent.Stop();

        // The pid file is read only now and the pid is checked against the namespace, so that no other process
        // can be signalled.
        if (int.TryParse((await File.ReadAllTextAsync(_vrrpPidFile, cancellationToken)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int vrrpPid)
            && (await LabNetwork.ListNamespacePidsAsync(Parent.NamespaceName)).Contains(vrrpPid))
        {
            _ = LibC.Kill(vrrpPid, LibC.SigKill);
        }

        await Parent.KillAndWaitAsync(TimeSpan.FromSeconds(10));
        bool childExited = await Poll.UntilAsync(
            async _ => !(await LabNetwork.ListNamespacePidsAsync(Parent.NamespaceName)).Contains(vrrpPid),
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(50),
            TimeProvider.System,
            cancellationToken);
        if (!childExited)
        {
            throw new LabCommandException($"The keepalived VRRP child (pid {vrrpPid}) was still alive 10 s after SIGKILL.");
        }
    }
}
