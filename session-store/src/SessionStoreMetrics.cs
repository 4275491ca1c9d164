using System.Diagnostics.Metrics;

namespace Tandem.SessionStore;

/// <summary>
/// Counters of the session store: failed operations by operation and reason. Published on the meter
/// <c>Tandem.SessionStore</c> and readable in process for tests and status output.
/// </summary>
public sealed class SessionStoreMetrics
{
    public const string MeterName = "Tandem.SessionStore";

    private static readonly int ReasonCount = Enum.GetValues<StoreFailureReason>().Length;

    private readonly long[] _failures = new long[Enum.GetValues<StoreOperation>().Length * ReasonCount];
    private readonly Counter<long> _failureCounter;

    public SessionStoreMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _failureCounter = meter.CreateCounter<long>(
            "tandem.session_store.failures",
            unit: "{operation}",
            description: "Store operations that returned Unavailable, by operation and reason.");
    }

    public void RecordFailure(StoreOperation operation, StoreFailureReason reason)
    {
        Interlocked.Increment(ref _failures[Index(operation, reason)]);
        _failureCounter.Add(
            1,
            new KeyValuePair<string, object?>("operation", operation.ToString()),
            new KeyValuePair<string, object?>("reason", reason.ToString()));
    }

    public long GetFailures(StoreOperation operation, StoreFailureReason reason) =>
        Volatile.Read(ref _failures[Index(operation, reason)]);

    private static int Index(StoreOperation operation, StoreFailureReason reason) =>
        ((int)operation * ReasonCount) + (int)reason;
}
