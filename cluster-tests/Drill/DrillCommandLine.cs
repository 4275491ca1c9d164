using Tandem.ClusterTests.Lab.Drill;

namespace Tandem.ClusterTests.Drill;

/// <summary>The parsed command line of tandem-drill.</summary>
internal sealed record DrillCommandLine(DrillVariant Variant, bool Json, bool KeepRunDirectory, bool ShowHelp)
{
    public const string Usage =
        """
        Usage: tandem-drill [--variant process-kill|host-down|graceful-stop] [--json] [--keep]

        Builds a two-node tandem cluster in network namespaces, takes the master down while a
        client sends a request every 20 ms through the virtual address, reports the takeover
        and tears everything down. Needs root, iproute2, redis-server and the node build.

          --variant NAME  process-kill (default): SIGKILL of the master's node process, then
                          'tandem-node release' in its namespace, as systemd's ExecStopPost would.
                          host-down: SIGSTOP of the master, its link cut, then SIGKILL.
                          graceful-stop: SIGTERM, so the master sends a priority-0 advert.
          --json          Print the report as one JSON object instead of text.
          --keep          Keep the run directory (configs, logs, certificate) under /tmp.
          --help          Print this text.

        Progress goes to standard error, the report to standard output. The exit code is 0 when
        the drill passed, 1 when it failed and 2 for a usage error.
        """;

    /// <summary>Parses <paramref name="args"/>, or returns an error message.</summary>
    public static (DrillCommandLine? CommandLine, string? Error) Parse(IReadOnlyList<string> args)
    {
        var variant = DrillVariant.ProcessKill;
        bool json = false, keep = false, help = false;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--keep":
                    keep = true;
                    break;
                case "--help" or "-h":
                    help = true;
                    break;
                case "--variant":
                    if (i + 1 >= args.Count)
                    {
                        return (null, "--variant needs a value: process-kill, host-down or graceful-stop.");
                    }

                    string name = args[++i];
                    if (!DrillVariantNames.TryParse(name, out variant))
                    {
                        return (null, $"Unknown variant '{name}'. Use process-kill, host-down or graceful-stop.");
                    }

                    break;
                default:
                    return (null, $"Unknown argument '{args[i]}'.");
            }
        }

        return (new DrillCommandLine(variant, json, keep, help), null);
    }
}
