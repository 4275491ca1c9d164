using System.Globalization;
using System.Text.RegularExpressions;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>The counts of one host in the PLAY RECAP that ends the output of <c>ansible-playbook</c>.</summary>
public sealed record HostRecap(string Host, int Ok, int Changed, int Unreachable, int Failed);

/// <summary>Reads the PLAY RECAP of an <c>ansible-playbook</c> run.</summary>
public static partial class PlaybookRecap
{
    /// <summary>Returns one entry per host line of the last PLAY RECAP in <paramref name="output"/>; empty when there is none.</summary>
    public static IReadOnlyList<HostRecap> Parse(string output)
    {
        int recap = output.LastIndexOf("PLAY RECAP", StringComparison.Ordinal);
        if (recap < 0)
        {
            return [];
        }

        var hosts = new List<HostRecap>();
        foreach (Match match in HostLine().Matches(output[recap..]))
        {
            hosts.Add(new HostRecap(
                match.Groups["host"].Value,
                Count(match, "ok"),
                Count(match, "changed"),
                Count(match, "unreachable"),
                Count(match, "failed")));
        }

        return hosts;
    }

    private static int Count(Match match, string group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<host>\S+)\s*:\s*ok=(?<ok>\d+)\s+changed=(?<changed>\d+)\s+unreachable=(?<unreachable>\d+)\s+failed=(?<failed>\d+)", RegexOptions.Multiline)]
    private static partial Regex HostLine();
}
