using System.Diagnostics.Metrics;

namespace Tandem.SessionStore;

/// <summary>
/// Counters of the session store: failed operations by operation and reason, change hints received by outcome, and
/// revalidations of the node-local cache. Published on the meter
/// <c>Tandem.SessionStore</c> and readable in process for tests and status output.
/// </summary>
public sealed class SessionStoreMetrics
{
    public const string MeterName = "Tandem.SessionStore";

    private static readonly int ReasonCount = Enum.GetValues<StoreFailureReason>().Length;

    private readonly long[] _failures = new long[Enum.GetValues<StoreOperation>().Length * ReasonCount];
    private readonly Counter<long> _failureCounter;
    private readonly long[] _hints = new long[Enum.GetValues<ChangeHintOutcome>().Length];
    private readonly Counter<long> _hintCounter;
    private readonly Counter<long> _revalidationDropCounter;
    private long _revalidations;
    private long _revalidationDrops;

    public SessionStoreMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _failureCounter = meter.CreateCounter<long>(
            "tandem.session_store.failures",
            unit: "{operation}",
            description: "Store operations that returned Unavailable, by operation and reason.");
        _hintCounter = meter.CreateCounter<long>(
            "tandem.session_store.change_hints",
            unit: "{message}",
            description: "Pin change hints received from other nodes over Redis pub/sub, by outcome.");
        _revalidationDropCounter = meter.CreateCounter<long>(
            "tandem.session_store.revalidation_drops",
            unit: "{pin}",
            description: "Cached pins dropped after a Redis reconnect because Redis names another destination.");
    }

    /// <summary>Completed revalidations of the node-local cache after a Redis reconnect.</summary>
    public long Revalidations => Interlocked.Read(ref _revalidations);

    /// <summary>Cached pins that revalidations dropped because Redis named another destination.</summary>
    public long RevalidationDrops => Interlocked.Read(ref _revalidationDrops);

    public void RecordFailure(StoreOperation operation, StoreFailureReason reason)
    {
        Interlocked.Increment(ref _failures[Index(operation, reason)]);
        _failureCounter.Add(
            1,
            new KeyValuePair<string, object?>("operation", operation.ToString()),
            new KeyValuePair<string, object?>("reason", reason.ToString()));
    }

    public void RecordHint(ChangeHintOutcome outcome)
    {
        Interlocked.Increment(ref _hints[(int)outcome]);
        _hintCounter.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString()));
    }

    public long GetHints(ChangeHintOutcome outcome) => Interlocked.Read(ref _hints[(int)outcome]);

    public void RecordRevalidation(int dropped)
    {
        Interlocked.Add(ref _revalidationDrops, dropped);
        Interlocked.Increment(ref _revalidations);
        _revalidationDropCounter.Add(dropped);
    }

    public long GetFailures(StoreOperation operation, StoreFailureReason reason) =>
        Volatile.Read(ref _failures[Index(operation, reason)]);

    private static int Index(StoreOperation operation, StoreFailureReason reason) =>
        ((int)operation * ReasonCount) + (int)reason;
}
