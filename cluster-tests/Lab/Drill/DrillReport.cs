using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>The result of one failover drill, as the demo prints it and the tests check it.</summary>
public sealed record DrillReport
{
    /// <summary><c>process-kill</c> or <c>host-down</c>.</summary>
    public required string Variant { get; init; }

    public required string MasterBefore { get; init; }

    /// <summary>The live node that has the virtual address after the drill, or null when none has it.</summary>
    public required string? MasterAfter { get; init; }

    /// <summary>The wall-clock time of the fault: SIGKILL, SIGSTOP for host-down, SIGTERM for graceful-stop.</summary>
    public required DateTimeOffset KilledAt { get; init; }

    /// <summary>From the fault to the first successful response from the standby, or null when none came.</summary>
    public required long? TakeoverMs { get; init; }

    /// <summary>Requests that failed between the fault and the takeover.</summary>
    public required int FailedRequests { get; init; }

    public required bool AffinityKept { get; init; }

    /// <summary>Whether a response after the fault came through the standby.</summary>
    public required bool StandbyAnswered { get; init; }

    /// <summary>The backend the affinity cookie pointed to before the fault.</summary>
    public required string Backend { get; init; }

    public required int RequestsSent { get; init; }

    public required int FailedBeforeFault { get; init; }

    public required int FailedAfterTakeover { get; init; }

    public required int CookiesReissued { get; init; }

    /// <summary>Requests sent after the fault that the old master still served; only graceful-stop allows any.</summary>
    public required int ServedByFailedMaster { get; init; }

    /// <summary>Failed requests after the fault by reason, such as <c>connect_timeout</c>.</summary>
    public required IReadOnlyDictionary<string, int> FailureReasons { get; init; }

    public required long AdvertisementIntervalMs { get; init; }

    /// <summary>Skew_Time of the standby (RFC 9568 §6.1).</summary>
    public required long SkewTimeMs { get; init; }

    /// <summary>
    /// The maximum takeover time the drill accepts: 3 × advertisement interval + Skew_Time + 1 s, or
    /// Skew_Time + 1 s for graceful-stop, where the master sends a priority-0 advert.
    /// </summary>
    public required long TakeoverBoundMs { get; init; }

    /// <summary>Exit code of the release command (process-kill only).</summary>
    public int? ReleaseExitCode { get; init; }

    public long? ReleaseMs { get; init; }

    /// <summary>
    /// Whether the failed master still had the virtual address after the drill. The release
    /// command or a graceful shutdown should remove it. Null for host-down, where nothing can.
    /// </summary>
    public bool? FailedMasterStillHoldsAddress { get; init; }

    /// <summary>
    /// Whether the standby resumed, without a full handshake, the TLS sessions that the client saved from the master
    /// before the fault, for every version in <see cref="TlsResumedByVersion"/>.
    /// </summary>
    public bool TlsResumed { get; init; }

    /// <summary>The resumption result per protocol version, keyed <c>tls1_3</c> and <c>tls1_2</c>.</summary>
    public IReadOnlyDictionary<string, bool> TlsResumedByVersion { get; init; } = new Dictionary<string, bool>();

    /// <summary>Why a session could not be saved from the master, one entry per version; empty when all were saved.</summary>
    public IReadOnlyList<string> TlsProblems { get; init; } = [];

    /// <summary>Affinity sessions opened through the master before the fault, each with its own cookie.</summary>
    public int AffinitySessions { get; init; }

    /// <summary>The opened sessions per backend.</summary>
    public IReadOnlyDictionary<string, int> AffinitySessionsByBackend { get; init; } = new Dictionary<string, int>();

    /// <summary>Sessions whose cookie, replayed to the standby after the takeover, reached another backend or got a new cookie.</summary>
    public int AffinityRepinned { get; init; }

    /// <summary>Replayed session requests that failed.</summary>
    public int AffinityReplayFailed { get; init; }

    /// <summary>TLS sessions saved from the master before the fault, besides the one per version above.</summary>
    public int TlsSessions { get; init; }

    /// <summary>The share of <see cref="TlsSessions"/> that the standby resumed, from 0 to 1; 0 when none was saved.</summary>
    public double TlsResumedShare { get; init; }

    /// <summary>How long opening the affinity sessions and saving the TLS sessions took, before the fault.</summary>
    public long SessionSetupMs { get; init; }

    /// <summary>How long replaying the affinity sessions and resuming the TLS sessions took, after the request loop.</summary>
    public long SessionReplayMs { get; init; }

    /// <summary>Everything that makes this drill a failure; empty when it passed.</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    public bool Passed => Problems.Count == 0;

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson(bool indented = false) =>
        JsonSerializer.Serialize(this, new JsonSerializerOptions(JsonOptions) { WriteIndented = indented });
}
