using System.Diagnostics.Metrics;
using Prometheus;
using Tandem.Monitoring.V1;
using Tandem.Node.Configuration;
using Tandem.Node.SessionAffinity;
using Tandem.SessionStore;
using Tandem.Vrrp;
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
    private static readonly Tandem.Vrrp.VrrpState[] States = Enum.GetValues<Tandem.Vrrp.VrrpState>();

    private readonly NodeStatusCollector _collector;
    private readonly NodeMeterExporter _meterExporter;
    private readonly Counter _callsDenied;
    private readonly Gauge _state;
    private readonly Gauge _priority;
    private readonly Counter _advertsSent;
    private readonly Counter _advertsReceived;
    private readonly Counter _advertsRejected;
    private readonly Counter _transitionsToMaster;
    private readonly Counter _gratuitousArpSent;
    private readonly Counter _priorityZeroReceived;
    private readonly Counter _repliesSuppressed;
    private readonly Gauge _effectivePriority;
    private readonly Counter _notifyFailures;
    private readonly Counter _notifyDropped;
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
        _state = factory.CreateGauge(
            "tandem_vrrp_state", "1 for the current VRRP state of the virtual router, 0 for the others.", "vrid", "state");
        _priority = factory.CreateGauge("tandem_vrrp_priority", "Configured VRRP priority, 1 to 255.", "vrid");
        _advertsSent = factory.CreateCounter(
            "tandem_vrrp_adverts_sent_total", "VRRP adverts sent, including those with priority 0.", "vrid");
        _advertsReceived = factory.CreateCounter(
            "tandem_vrrp_adverts_received_total", "Valid VRRP adverts for this VRID from other nodes.", "vrid");
        _advertsRejected = factory.CreateCounter(
            "tandem_vrrp_adverts_rejected_total", "Received VRRP packets discarded as invalid, by reason.", "vrid", "reason");
        _transitionsToMaster = factory.CreateCounter(
            "tandem_vrrp_transitions_to_master_total", "Transitions of the virtual router into the Master state.", "vrid");
        _gratuitousArpSent = factory.CreateCounter(
            "tandem_vrrp_gratuitous_arp_sent_total", "Gratuitous ARP frames sent for the virtual addresses.", "vrid");
        _priorityZeroReceived = factory.CreateCounter(
            "tandem_vrrp_priority_zero_received_total", "VRRP adverts with priority 0 received, normally from a stopping master.", "vrid");
        _repliesSuppressed = factory.CreateCounter(
            "tandem_vrrp_replies_suppressed_total",
            "Replies to priority-0 or lower-priority adverts not sent because the master had replied within its interval.",
            "vrid");
        _effectivePriority = factory.CreateGauge(
            "tandem_vrrp_effective_priority", "VRRP priority advertised now: the configured one lowered by failed tracked conditions.", "vrid");
        _notifyFailures = factory.CreateCounter(
            "tandem_vrrp_notify_failures_total", "Runs of Vrrp:NotifyCommand that failed to start, exited with a nonzero code or timed out.", "vrid");
        _notifyDropped = factory.CreateCounter(
            "tandem_vrrp_notify_dropped_total", "Runs of Vrrp:NotifyCommand dropped because too many were waiting.", "vrid");
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
        // NOTE: the series are labelled by VRID only, so two routers with one VRID on different interfaces share them.
        foreach (var router in _collector.Routers)
        {
            UpdateVrrp(router.Speaker);
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

    private void UpdateVrrp(VrrpSpeaker speaker)
    {
        var vrid = speaker.Options.VirtualRouterId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var current = speaker.State;
        foreach (var state in States)
        {
            _state.WithLabels(vrid, state.ToString().ToLowerInvariant()).Set(state == current ? 1 : 0);
        }

        var counters = speaker.Counters;
        _priority.WithLabels(vrid).Set(speaker.Options.Priority);
        _advertsSent.WithLabels(vrid).IncTo(counters.AdvertisementsSent);
        _advertsReceived.WithLabels(vrid).IncTo(counters.AdvertisementsReceived);
        _transitionsToMaster.WithLabels(vrid).IncTo(counters.BecameMaster);
        _gratuitousArpSent.WithLabels(vrid).IncTo(counters.GratuitousArpSent);
        _priorityZeroReceived.WithLabels(vrid).IncTo(counters.PriorityZeroReceived);
        _repliesSuppressed.WithLabels(vrid).IncTo(counters.RepliesSuppressed);
        _effectivePriority.WithLabels(vrid).Set(speaker.EffectivePriority);
        _notifyFailures.WithLabels(vrid).IncTo(counters.NotifyFailed);
        _notifyDropped.WithLabels(vrid).IncTo(counters.NotifyDropped);
        foreach (var (reason, count) in counters.GetRejectedByReason())
        {
            _advertsRejected.WithLabels(vrid, reason.ToString()).IncTo(count);
        }
    }
}
