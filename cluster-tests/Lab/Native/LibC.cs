using System.Runtime.InteropServices;

namespace Tandem.ClusterTests.Lab.Native;

/// <summary>The few libc calls the lab needs that .NET does not expose.</summary>
internal static partial class LibC
{
    /// <summary>The <c>nstype</c> for <see cref="SetNamespace"/> that selects a network namespace (linux/sched.h).</summary>
    public const int CloneNewNet = 0x40000000;

    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Moves the calling thread, and only it, into the namespace that <paramref name="fd"/> refers to (setns(2)).</summary>
    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNamespace(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();
}
