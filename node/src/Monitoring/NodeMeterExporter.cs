using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace Tandem.Node.Monitoring;

/// <summary>
/// Exports the <see cref="Counter{T}"/> instruments of chosen meters as Prometheus counters with conventional names:
/// <c>tandem.affinity.pins_created</c> becomes <c>tandem_affinity_pins_created_total</c> and each tag becomes a label.
/// </summary>
/// <remarks>
/// prometheus-net's own MeterAdapter (8.2.1) prefixes the meter name and exports counters as gauges, so the node
/// bridges its own meters instead. Only instruments whose meter passes the filter are listened to.
/// </remarks>
internal sealed class NodeMeterExporter : IDisposable
{
    private readonly MetricFactory _factory;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Counter> _counters = new();

    public NodeMeterExporter(MetricFactory factory, Func<Meter, bool> meterFilter)
    {
        _factory = factory;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (meterFilter(instrument.Meter) && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Converts a meter instrument name to a Prometheus counter name.</summary>
    internal static string ToPrometheusName(string instrumentName) => instrumentName.Replace('.', '_').Replace('-', '_') + "_total";

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        // Tags arrive in the order the caller wrote them; sorting gives each instrument one stable label order.
        var sorted = tags.ToArray();
        Array.Sort(sorted, (left, right) => string.CompareOrdinal(left.Key, right.Key));

        var counter = _counters.GetOrAdd(instrument, created => _factory.CreateCounter(
            ToPrometheusName(created.Name),
            created.Description ?? created.Name,
            sorted.Select(tag => tag.Key).ToArray()));

        var values = sorted.Select(tag => tag.Value?.ToString() ?? "").ToArray();
        if (values.Length != counter.LabelNames.Length)
        {
            // An instrument that changes its tag names between measurements cannot map to one Prometheus counter.
            return;
        }

        counter.WithLabels(values).Inc(value);
    }
}
