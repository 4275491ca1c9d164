using System.Net;
using Tandem.ClusterTests.Lab.Client;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>One request of the drill, with times measured from the start of the request loop.</summary>
/// <param name="ServedBy">The node that forwarded the request, as the backend saw it, or null on failure.</param>
/// <param name="AffinityCookie">The affinity cookie value the response set, or null when it set none.</param>
public sealed record RequestOutcome(
    TimeSpan Started,
    TimeSpan Completed,
    ProbeFailure Failure,
    string? Backend,
    IPAddress? ServedBy,
    string? AffinityCookie)
{
    public bool Succeeded => Failure == ProbeFailure.None;
}

/// <summary>What the drill saw, ready for <see cref="DrillAnalysis.Analyze"/>.</summary>
/// <param name="FaultAt">When the fault was injected, on the same clock as the outcomes.</param>
/// <param name="Backend">The backend the affinity cookie pointed to before the fault.</param>
/// <param name="Master">The address of the node that held the virtual address before the fault.</param>
/// <param name="Standby">The address of the node expected to take over.</param>
public sealed record DrillTimeline(
    IReadOnlyList<RequestOutcome> Outcomes,
    TimeSpan FaultAt,
    string Backend,
    IPAddress Master,
    IPAddress Standby);
