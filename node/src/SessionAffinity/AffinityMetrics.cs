using System.Diagnostics.Metrics;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Counters of the <c>ClusterCookie</c> affinity policy, published on the meter <c>Tandem.Node</c> and readable in
/// process for tests.
/// </summary>
internal sealed class AffinityMetrics
{
    public const string MeterName = "Tandem.Node";

    private readonly long[] _cookiesRejected = new long[Enum.GetValues<CookieRejectReason>().Length];
    private readonly Counter<long> _cookiesRejectedCounter;
    private readonly Counter<long> _pinsCreatedCounter;
    private readonly Counter<long> _pinsNotSharedCounter;
    private readonly Counter<long> _pinnedDestinationUnavailableCounter;
    private readonly Counter<long> _routedByHintCounter;
    private readonly Counter<long> _repinnedCounter;
    private readonly Counter<long> _unhealthyPinRejectedCounter;
    private long _routedByHint;
    private long _repinned;
    private long _unhealthyPinRejected;
    private long _pinsCreated;
    private long _pinsNotShared;
    private long _pinnedDestinationUnavailable;

    public AffinityMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _cookiesRejectedCounter = meter.CreateCounter<long>(
            "tandem.affinity.cookies_rejected",
            unit: "{cookie}",
            description: "Affinity cookies treated as absent, by reason.");
        _pinsCreatedCounter = meter.CreateCounter<long>(
            "tandem.affinity.pins_created",
            unit: "{pin}",
            description: "New sessions pinned to a destination.");
        _pinsNotSharedCounter = meter.CreateCounter<long>(
            "tandem.affinity.pins_not_shared",
            unit: "{pin}",
            description: "Pin writes that the shared store did not confirm, so the pin lives only on this node.");
        _pinnedDestinationUnavailableCounter = meter.CreateCounter<long>(
            "tandem.affinity.pinned_destination_unavailable",
            unit: "{request}",
            description: "Requests whose pinned destination was not available, handled by SessionStore:UnhealthyPinPolicy.");
        _routedByHintCounter = meter.CreateCounter<long>(
            "tandem.affinity.routed_by_hint",
            unit: "{request}",
            description: "Requests routed by the cookie's destination hint because neither the local cache nor Redis had the pin.");
        _repinnedCounter = meter.CreateCounter<long>(
            "tandem.affinity.repinned",
            unit: "{request}",
            description: "Sessions moved from an unavailable destination to one picked by rendezvous hashing.");
        _unhealthyPinRejectedCounter = meter.CreateCounter<long>(
            "tandem.affinity.unhealthy_pin_rejected",
            unit: "{request}",
            description: "Requests that got a 503 response because their pinned destination was unavailable and the policy is Fail.");
    }

    public long RoutedByHint => Volatile.Read(ref _routedByHint);

    public long Repinned => Volatile.Read(ref _repinned);

    public long UnhealthyPinRejected => Volatile.Read(ref _unhealthyPinRejected);

    public void RecordRoutedByHint()
    {
        Interlocked.Increment(ref _routedByHint);
        _routedByHintCounter.Add(1);
    }

    public void RecordRepinned()
    {
        Interlocked.Increment(ref _repinned);
        _repinnedCounter.Add(1);
    }

    public void RecordUnhealthyPinRejected()
    {
        Interlocked.Increment(ref _unhealthyPinRejected);
        _unhealthyPinRejectedCounter.Add(1);
    }

    public long PinsCreated => Volatile.Read(ref _pinsCreated);

    public long PinsNotShared => Volatile.Read(ref _pinsNotShared);

    public long PinnedDestinationUnavailable => Volatile.Read(ref _pinnedDestinationUnavailable);

    public long GetCookiesRejected(CookieRejectReason reason) => Volatile.Read(ref _cookiesRejected[(int)reason]);

    public void RecordCookieRejected(CookieRejectReason reason)
    {
        Interlocked.Increment(ref _cookiesRejected[(int)reason]);
        _cookiesRejectedCounter.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
    }

    public void RecordPinCreated()
    {
        Interlocked.Increment(ref _pinsCreated);
        _pinsCreatedCounter.Add(1);
    }

    public void RecordPinNotShared()
    {
        Interlocked.Increment(ref _pinsNotShared);
        _pinsNotSharedCounter.Add(1);
    }

    public void RecordPinnedDestinationUnavailable()
    {
        Interlocked.Increment(ref _pinnedDestinationUnavailable);
        _pinnedDestinationUnavailableCounter.Add(1);
    }
}
