namespace Tandem.Node.Hosting;

/// <summary>The action that the command line selects.</summary>
internal enum NodeCommandKind
{
    Run,
    Release,
    Help,
    Invalid,
}

/// <summary>
/// The parsed command line: <c>tandem-node [release] --config PATH [--Section:Key=value ...]</c>. Overrides have the
/// form of configuration keys and take precedence over the file and the environment.
/// </summary>
internal sealed record NodeCommandLine(NodeCommandKind Kind, string ConfigPath, IReadOnlyList<string> Overrides, string? Error)
{
    public const string Usage = """
        Usage:
          tandem-node --config PATH [--Section:Key=value ...]
              Runs the node with the JSON configuration file at PATH.
          tandem-node release --config PATH [--Section:Key=value ...]
              Removes the configured virtual addresses from the interface and exits.
              A service manager runs it after the node process ends (systemd ExecStopPost);
              give it the same arguments as the node.

        Settings are read from PATH, then from environment variables such as Proxy__Port=8443,
        then from --Section:Key=value arguments; later sources override earlier ones.

        Exit codes: 0 success, 1 failure, 2 invalid command line, 78 invalid configuration.
        """;

    public static NodeCommandLine Parse(IReadOnlyList<string> args)
    {
        var kind = NodeCommandKind.Run;
        var index = 0;
        if (args.Count > 0 && args[0] == "release")
        {
            kind = NodeCommandKind.Release;
            index = 1;
        }

        string? configPath = null;
        var overrides = new List<string>();

        for (; index < args.Count; index++)
        {
            var arg = args[index];
            if (arg is "--help" or "-h")
            {
                return new NodeCommandLine(NodeCommandKind.Help, "", [], null);
            }

            if (arg == "--config" || arg.StartsWith("--config=", StringComparison.Ordinal))
            {
                if (configPath is not null)
                {
                    return Invalid("--config is given more than once.");
                }

                if (arg == "--config")
                {
                    if (index + 1 >= args.Count || args[index + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        return Invalid("--config needs a file path.");
                    }

                    configPath = args[++index];
                }
                else
                {
                    configPath = arg["--config=".Length..];
                }

                if (configPath.Length == 0)
                {
                    return Invalid("--config needs a file path.");
                }

                continue;
            }

            // Only configuration keys (Section:Key) are accepted, so a mistyped option is reported, not ignored.
            var key = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..].Split('=', 2)[0] : "";
            if (!key.Contains(':', StringComparison.Ordinal))
            {
                return Invalid($"Unknown argument '{arg}'.");
            }

            overrides.Add(arg);
            if (!arg.Contains('=', StringComparison.Ordinal))
            {
                if (index + 1 >= args.Count)
                {
                    return Invalid($"{arg} needs a value.");
                }

                overrides.Add(args[++index]);
            }
        }

        if (configPath is null)
        {
            return Invalid("--config PATH is required.");
        }

        return new NodeCommandLine(kind, configPath, overrides, null);
    }

    private static NodeCommandLine Invalid(string error) => new(NodeCommandKind.Invalid, "", [], error);
}
