using System.Diagnostics.Metrics;
using Prometheus;
using Tandem.Monitoring.V1;
using Tandem.Node.Configuration;
using Tandem.Node.SessionAffinity;
using Tandem.SessionStore;
using StoreConnectionState = Tandem.Monitoring.V1.StoreConnectionState;

namespace Tandem.Node.Monitoring;

/// <summary>
/// The Prometheus registry behind <c>/metrics</c>. The node's own meters (<c>Tandem.Node</c>,
/// <c>Tandem.SessionStore</c>) are exported through <see cref="NodeMeterExporter"/>. VRRP, proxy, store and
/// certificate values are read from the live objects just before each scrape.
/// </summary>
/// <remarks>
/// Each node has its own registry rather than prometheus-net's static default, so that several nodes hosted in one
/// test process do not mix their values.
/// </remarks>
internal sealed class ManagementMetrics : IDisposable
{
    private readonly NodeStatusCollector _collector;
    private readonly NodeMeterExporter _meterExporter;
    private readonly Counter _callsDenied;
    private readonly VrrpMetrics _vrrp;
    private readonly Counter _proxyRequests;
    private readonly Counter _proxyFailures;
    private readonly Gauge _destinationHealth;
    private readonly Gauge _storeConnected;
    private readonly Gauge _certificateNotAfter;
    private readonly Gauge _startTime;
    private readonly Gauge _degraded;
    private readonly Gauge _proxyListening;
    private readonly Gauge _proxyOpenConnections;
    private readonly Gauge _storeRoundTrip;
    private readonly Counter _heartbeatsRejected;

    public ManagementMetrics(NodeStatusCollector collector, NodeSettings settings, IMeterFactory meterFactory)
    {
        _collector = collector;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);

        // Meters created through this node's IMeterFactory carry it as their scope, which distinguishes them from the
        // meters of another node in the same process.
        _meterExporter = new NodeMeterExporter(
            factory,
            meter => meter.Name is AffinityMetrics.MeterName or SessionStoreMetrics.MeterName
                && ReferenceEquals(meter.Scope, meterFactory));

        _callsDenied = factory.CreateCounter(
            "tandem_management_calls_denied_total",
            "NodeMonitor calls rejected with PERMISSION_DENIED because the client is outside Management:AllowedNetworks.");
        _vrrp = new VrrpMetrics(factory);
        _proxyRequests = factory.CreateCounter("tandem_proxy_requests_total", "Requests received on the proxy listener.");
        _proxyFailures = factory.CreateCounter(
            "tandem_proxy_failures_total", "Proxied requests that YARP failed to forward (a ForwarderError other than None).");
        _proxyListening = factory.CreateGauge("tandem_proxy_listening", "1 while the proxy listener accepts connections.");
        _proxyOpenConnections = factory.CreateGauge("tandem_proxy_open_connections", "Client connections open on the proxy listener.");
        _storeRoundTrip = factory.CreateGauge(
            "tandem_session_store_round_trip_seconds",
            "Round-trip time of the last PING to Redis; NaN without Redis, before the first reply and after a failed PING.");
        _heartbeatsRejected = factory.CreateCounter(
            "tandem_cluster_heartbeats_rejected_total",
            "Heartbeats of other nodes left out of the cluster view because they are not a valid NodeStatus.");
        _destinationHealth = factory.CreateGauge(
            "tandem_proxy_destination_health",
            "1 for the destination's current health as YARP sees it (unknown, healthy, unhealthy), 0 for the others.",
            "cluster", "destination", "health");
        _storeConnected = factory.CreateGauge(
            "tandem_session_store_connected", "1 while the Redis session store is connected; always 1 for the in-process store.");
        _certificateNotAfter = factory.CreateGauge(
            "tandem_certificate_not_after_timestamp_seconds",
            "End of the validity of the server certificate that expires first, as a Unix time in seconds.");
        _startTime = factory.CreateGauge("tandem_node_start_time_seconds", "Start time of the node, as a Unix time in seconds.");
        _degraded = factory.CreateGauge(
            "tandem_node_degraded",
            "1 while the node serves with reduced guarantees, for example with Redis unreachable (reasons in GetStatus); else 0.");

        var firstNotAfter = settings.Certificates.Certificates.Min(certificate => certificate.Certificate.NotAfter.ToUniversalTime());
        _certificateNotAfter.Set(new DateTimeOffset(firstNotAfter).ToUnixTimeSeconds());
        _startTime.Set(collector.StartTime.ToUnixTimeMilliseconds() / 1000.0);
        Registry.AddBeforeCollectCallback(Update);
    }

    public CollectorRegistry Registry { get; }

    public void OnCallDenied() => _callsDenied.Inc();

    public void OnHeartbeatRejected() => _heartbeatsRejected.Inc();

    public void Dispose() => _meterExporter.Dispose();

    private void Update()
    {
        foreach (var router in _collector.Routers)
        {
            _vrrp.Update(router.Name, router.Speaker);
        }

        _proxyRequests.IncTo(_collector.ProxyRequests.Requests);
        _proxyFailures.IncTo(_collector.ProxyRequests.Failures);
        _proxyListening.Set(_collector.ProxyListening ? 1 : 0);
        _proxyOpenConnections.Set(_collector.OpenProxyConnections);
        _storeRoundTrip.Set(_collector.StoreRoundTripTime?.TotalSeconds ?? double.NaN);
        _degraded.Set(_collector.CollectDegradedReasons().Count > 0 ? 1 : 0);
        _storeConnected.Set(_collector.CollectStoreConnectionState() is StoreConnectionState.Connected or StoreConnectionState.NotApplicable ? 1 : 0);

        foreach (var ((clusterId, destinationId), health) in _collector.CollectDestinationHealth())
        {
            _destinationHealth.WithLabels(clusterId, destinationId, "unknown").Set(health == DestinationHealth.Unknown ? 1 : 0);
            _destinationHealth.WithLabels(clusterId, destinationId, "healthy").Set(health == DestinationHealth.Healthy ? 1 : 0);
            _destinationHealth.WithLabels(clusterId, destinationId, "unhealthy").Set(health == DestinationHealth.Unhealthy ? 1 : 0);
        }
    }
}
