using System.Diagnostics.Metrics;
using Tandem.Node.Configuration;

namespace Tandem.Node.Monitoring;

/// <summary>
/// Client connections open on the proxy listener, read from Kestrel's <c>kestrel.active_connections</c> up-down
/// counter, whose measurements carry the listener's <c>server.port</c>.
/// </summary>
/// <remarks>
/// The management listener is a Kestrel server too, and tests run several nodes in one process, so only measurements
/// tagged with <c>Proxy:Port</c> count.
/// </remarks>
internal sealed class ProxyConnectionCounter : IDisposable
{
    private const string KestrelMeterName = "Microsoft.AspNetCore.Server.Kestrel";
    private const string ActiveConnectionsName = "kestrel.active_connections";

    private readonly MeterListener _listener = new();
    private readonly int _port;
    private long _open;

    public ProxyConnectionCounter(NodeSettings settings)
    {
        _port = settings.Proxy.Port;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KestrelMeterName && instrument.Name == ActiveConnectionsName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Connections accepted and not yet closed. Zero before the listener starts.</summary>
    public long Open => Math.Max(0, Interlocked.Read(ref _open));

    public void Dispose() => _listener.Dispose();

    private bool IsPort(object? value) => value switch
    {
        int port => port == _port,
        string text => int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var port) && port == _port,
        _ => false,
    };

    private void OnMeasurement(Instrument instrument, long delta, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "server.port" && IsPort(tag.Value))
            {
                Interlocked.Add(ref _open, delta);
                return;
            }
        }
    }
}
