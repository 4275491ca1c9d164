using System.Diagnostics.Metrics;

namespace Tandem.Node.Tls;

/// <summary>
/// Counters of the OpenSSL TLS engine, published on the meter <c>Tandem.Node</c> and readable in process for tests:
/// completed handshakes (full or resumed) and failed handshakes by reason.
/// </summary>
internal sealed class TlsMetrics
{
    public const string MeterName = "Tandem.Node";

    private readonly long[] _failures = new long[Enum.GetValues<TlsHandshakeFailureReason>().Length];
    private readonly Counter<long> _handshakesCounter;
    private readonly Counter<long> _failuresCounter;
    private readonly Counter<long> _ticketsRejectedCounter;
    private long _fullHandshakes;
    private long _resumedHandshakes;
    private long _ticketsRejected;

    public TlsMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _handshakesCounter = meter.CreateCounter<long>(
            "tandem.tls.handshakes",
            unit: "{handshake}",
            description: "Completed TLS handshakes on the proxy listener, by whether the session was resumed.");
        _failuresCounter = meter.CreateCounter<long>(
            "tandem.tls.handshake_failures",
            unit: "{handshake}",
            description: "TLS handshakes on the proxy listener that failed, by reason.");
        _ticketsRejectedCounter = meter.CreateCounter<long>(
            "tandem.tls.tickets_rejected",
            unit: "{ticket}",
            description: "Session tickets under an unknown or retired key, which get a full handshake instead.");
    }

    public long FullHandshakes => Volatile.Read(ref _fullHandshakes);

    public long ResumedHandshakes => Volatile.Read(ref _resumedHandshakes);

    public long TicketsRejected => Volatile.Read(ref _ticketsRejected);

    public long GetFailures(TlsHandshakeFailureReason reason) => Volatile.Read(ref _failures[(int)reason]);

    public void RecordHandshake(bool resumed)
    {
        Interlocked.Increment(ref resumed ? ref _resumedHandshakes : ref _fullHandshakes);
        _handshakesCounter.Add(1, new KeyValuePair<string, object?>("resumed", resumed));
    }

    public void RecordFailure(TlsHandshakeFailureReason reason)
    {
        Interlocked.Increment(ref _failures[(int)reason]);
        _failuresCounter.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
    }

    public void RecordTicketRejected()
    {
        Interlocked.Increment(ref _ticketsRejected);
        _ticketsRejectedCounter.Add(1);
    }
}
