using System.Globalization;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;
using Tandem.Monitoring.V1;
using Tandem.Node.Configuration;
using Tandem.Node.Hosting;
using Tandem.Node.Tls;
using Tandem.Node.Vrrp;
using Tandem.SessionStore;
using Tandem.Vrrp;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;
using V1 = Tandem.Monitoring.V1;
using DestinationHealth = Tandem.Monitoring.V1.DestinationHealth;


namespace Tandem.Node.Monitoring;

/// <summary>Builds the <see cref="NodeStatus"/> message from the live parts of the node.</summary>
internal sealed class NodeStatusCollector
{
    private readonly NodeSettings _settings;
    private readonly IProxyStateLookup _proxyState;
    private readonly ProxyRequestCounters _requests;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly VrrpHostedService? _vrrp;
    private readonly SharedAffinityStoreConnector? _redis;
    private readonly InProcessAffinityStore? _localPins;
    private readonly SessionStoreProbe? _storeProbe;
    private readonly ProxyConnectionCounter? _connections;
    private readonly TicketKeyRingService? _ticketKeys;
    private readonly string _version;

    public NodeStatusCollector(
        NodeSettings settings,
        IProxyStateLookup proxyState,
        ProxyRequestCounters requests,
        IHostApplicationLifetime lifetime,
        TimeProvider timeProvider,
        VrrpHostedService? vrrp = null,
        SharedAffinityStoreConnector? redis = null,
        InProcessAffinityStore? localPins = null,
        SessionStoreProbe? storeProbe = null,
        ProxyConnectionCounter? connections = null,
        TicketKeyRingService? ticketKeys = null)
    {
        _settings = settings;
        _proxyState = proxyState;
        _requests = requests;
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        _vrrp = vrrp;
        _redis = redis;
        _localPins = localPins;
        _storeProbe = storeProbe;
        _connections = connections;
        _ticketKeys = ticketKeys;
        StartTime = timeProvider.GetUtcNow();

        var assembly = typeof(NodeStatusCollector).Assembly;
        _version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
    }

    /// <summary>When the node's services were built, which is close to the process start.</summary>
    public DateTimeOffset StartTime { get; }

    public ProxyRequestCounters ProxyRequests => _requests;

    /// <summary>Client connections open on the proxy listener now.</summary>
    public long OpenProxyConnections => _connections?.Open ?? 0;

    /// <summary>Round-trip time of the last PING to Redis, or null without Redis, before the first reply and after a failure.</summary>
    public TimeSpan? StoreRoundTripTime => _settings.UsesRedis ? _storeProbe?.RoundTripTime : null;

    /// <summary>The node's virtual routers; empty when VRRP is off.</summary>
    public IReadOnlyList<VrrpRouter> Routers => _vrrp?.Routers ?? [];

    /// <summary>True between the start of the proxy listener and the start of the shutdown.</summary>
    public bool ProxyListening =>
        _lifetime.ApplicationStarted.IsCancellationRequested && !_lifetime.ApplicationStopping.IsCancellationRequested;

    /// <summary>True once the node's shutdown has started.</summary>
    public bool NodeStopping => _lifetime.ApplicationStopping.IsCancellationRequested;

    public NodeStatus Collect()
    {
        var now = _timeProvider.GetUtcNow();
        var status = new NodeStatus
        {
            NodeName = _settings.NodeName,
            Version = _version,
            StartTime = Timestamp.FromDateTimeOffset(StartTime),
            Uptime = Duration.FromTimeSpan(now - StartTime),
            Time = Timestamp.FromDateTimeOffset(now),
            Proxy = CollectProxy(),
            SessionStore = CollectSessionStore(),
            Certificate = CollectCertificate(_settings.Certificate.Certificate, now),
        };

        status.Certificates.AddRange(CollectCertificates(now));
        status.DegradedReasons.AddRange(CollectDegradedReasons());
        status.Degraded = status.DegradedReasons.Count > 0;

        if (_settings.Vrrp is { } vrrp)
        {
            foreach (var router in vrrp.Routers)
            {
                var syncGroup = vrrp.SyncGroups.FirstOrDefault(group => group.Routers.Contains(router.Name, StringComparer.OrdinalIgnoreCase));
                var routerStatus = CollectVirtualRouter(router.Options, _vrrp?.FindRouter(router.Name)?.Speaker);
                routerStatus.Name = router.Name;
                routerStatus.SyncGroup = syncGroup?.Name ?? "";
                status.VirtualRouters.Add(routerStatus);
            }
        }

        return status;
    }

    /// <summary>Returns the health of every destination of every cluster, keyed by cluster id and destination id.</summary>
    public Dictionary<(string ClusterId, string DestinationId), DestinationHealth> CollectDestinationHealth()
    {
        var result = new Dictionary<(string, string), DestinationHealth>();
        foreach (var cluster in _proxyState.GetClusters())
        {
            foreach (var (destinationId, destination) in cluster.Destinations)
            {
                result[(cluster.ClusterId, destinationId)] = Combine(destination.Health);
            }
        }

        return result;
    }

    public StoreConnectionState CollectStoreConnectionState()
    {
        if (!_settings.UsesRedis)
        {
            return StoreConnectionState.NotApplicable;
        }

        var store = _redis?.Store;
        if (store is null)
        {
            return StoreConnectionState.Connecting;
        }

        return store.IsConnected ? StoreConnectionState.Connected : StoreConnectionState.Disconnected;
    }

    /// <summary>
    /// Returns why the node serves with reduced guarantees now, empty when it does not. The node still serves while
    /// degraded, so the standard gRPC health stays SERVING.
    /// </summary>
    public List<string> CollectDegradedReasons()
    {
        var reasons = new List<string>();

        // Affinity then comes from the local cache and the cookie's destination hint only, and new pins stay local.
        if (CollectStoreConnectionState() == StoreConnectionState.Disconnected)
        {
            reasons.Add(DegradedReasons.SessionStoreUnreachable);
        }

        // Tickets then use the cached keys, or a local key that the other node cannot decrypt.
        if (_ticketKeys?.Ring.Current.IsDegraded == true)
        {
            reasons.Add(DegradedReasons.TicketKeysNotShared);
        }

        return reasons;
    }

    public string LastStoreError => _redis?.Store?.LastConnectionError ?? "";

    internal static V1.VrrpState ToProto(Tandem.Vrrp.VrrpState state) => state switch
    {
        Tandem.Vrrp.VrrpState.Initialize => V1.VrrpState.Initialize,
        Tandem.Vrrp.VrrpState.Backup => V1.VrrpState.Backup,
        Tandem.Vrrp.VrrpState.Master => V1.VrrpState.Master,
        _ => throw new NotSupportedException($"VRRP state {state} has no protocol value."),
    };

    internal static StateTransition ToProto(VrrpStateChange change) => new()
    {
        Time = Timestamp.FromDateTimeOffset(change.At),
        From = ToProto(change.From),
        To = ToProto(change.To),
        Reason = change.Reason,
    };

    /// <summary>Returns the default proxy certificate's names and days left now.</summary>
    public CertificateStatus CollectCertificate() => CollectCertificate(_settings.Certificate.Certificate, _timeProvider.GetUtcNow());

    /// <summary>Returns the names and days left of every proxy certificate, in configuration order.</summary>
    public IEnumerable<CertificateStatus> CollectCertificates(DateTimeOffset now) =>
        _settings.Certificates.Certificates.Select(certificate => CollectCertificate(certificate.Certificate, now));

    internal static CertificateStatus CollectCertificate(X509Certificate2 certificate, DateTimeOffset now)
    {
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var status = new CertificateStatus
        {
            Subject = certificate.Subject,
            NotAfter = Timestamp.FromDateTimeOffset(notAfter),
            DaysLeft = (int)Math.Floor((notAfter - now).TotalDays),
        };

        foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            status.DnsNames.AddRange(extension.EnumerateDnsNames());
        }

        return status;
    }

    /// <summary>Unhealthy if either YARP check reports unhealthy, healthy if either reports healthy, unknown otherwise.</summary>
    internal static DestinationHealth Combine(DestinationHealthState health)
    {
        var active = ToProto(health.Active);
        var passive = ToProto(health.Passive);
        if (active == DestinationHealth.Unhealthy || passive == DestinationHealth.Unhealthy)
        {
            return DestinationHealth.Unhealthy;
        }

        return active == DestinationHealth.Healthy || passive == DestinationHealth.Healthy
            ? DestinationHealth.Healthy
            : DestinationHealth.Unknown;
    }

    private static DestinationHealth ToProto(Yarp.ReverseProxy.Model.DestinationHealth health) => health switch
    {
        Yarp.ReverseProxy.Model.DestinationHealth.Unknown => DestinationHealth.Unknown,
        Yarp.ReverseProxy.Model.DestinationHealth.Healthy => DestinationHealth.Healthy,
        Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy => DestinationHealth.Unhealthy,
        _ => throw new NotSupportedException($"YARP destination health {health} has no protocol value."),
    };

    internal static VirtualRouterStatus CollectVirtualRouter(VrrpOptions options, VrrpSpeaker? speaker)
    {
        var state = speaker?.State ?? Tandem.Vrrp.VrrpState.Initialize;
        var status = new VirtualRouterStatus
        {
            Vrid = (uint)options.VirtualRouterId,
            Interface = options.Interface,
            State = ToProto(state),
            ConfiguredPriority = (uint)options.Priority,
            EffectivePriority = (uint)options.Priority,
            AdvertisementIntervalCentiseconds = (uint)options.AdvertisementIntervalCentiseconds,
            Counters = new V1.VrrpCounters(),
        };

        status.VirtualAddresses.AddRange(options.VirtualAddresses);

        // The address worker claims every address on entering Master and releases them all on leaving it.
        if (state == Tandem.Vrrp.VrrpState.Master)
        {
            status.VirtualAddressesHeld.AddRange(options.VirtualAddresses);
        }

        if (speaker is null)
        {
            return status;
        }

        status.Maintenance = speaker.InMaintenance;
        status.HandingOver = speaker.HandingOver;
        if (speaker.HandingOver)
        {
            status.PriorityLoweredBy.Add("hand-over");
        }

        if (speaker.InMaintenance)
        {
            status.PriorityLoweredBy.Add("maintenance");
        }

        status.EffectivePriority = (uint)speaker.EffectivePriority;
        foreach (var condition in speaker.TrackedConditions.Where(condition => condition.IsFailed))
        {
            status.PriorityLoweredBy.Add($"track:{condition.Name}");
        }

        // Like a hand-over or maintenance, a fault keeps the router from being master whatever its priority.
        if (speaker.HandingOver || speaker.InMaintenance || speaker.InFault)
        {
            status.EffectivePriority = 0;
        }

        if (speaker.MasterHeard is { } master)
        {
            status.MasterHeard = new MasterHeard
            {
                Address = master.Address.ToString(),
                Priority = master.Priority,
                Time = Timestamp.FromDateTimeOffset(master.At),
            };
        }

        if (speaker.LastStateChange is { } change)
        {
            status.LastTransition = ToProto(change);
        }

        var counters = speaker.Counters;
        status.Counters.AdvertsSent = (ulong)counters.AdvertisementsSent;
        status.Counters.AdvertsReceived = (ulong)counters.AdvertisementsReceived;
        status.Counters.TransitionsToMaster = (ulong)counters.BecameMaster;
        status.Counters.GratuitousArpSent = (ulong)counters.GratuitousArpSent;
        status.Counters.PriorityZeroReceived = (ulong)counters.PriorityZeroReceived;
        status.Counters.RepliesSuppressed = (ulong)counters.RepliesSuppressed;
        status.Counters.NotifyFailures = (ulong)counters.NotifyFailed;
        status.Counters.NotifyTimeouts = (ulong)counters.NotifyTimedOut;
        status.Counters.NotifyDropped = (ulong)counters.NotifyDropped;
        foreach (var (reason, count) in counters.GetRejectedByReason())
        {
            status.Counters.RejectedByReason[reason.ToString()] = (ulong)count;
        }

        return status;
    }

    private ProxyStatus CollectProxy()
    {
        var status = new ProxyStatus
        {
            ListenEndpoint = string.Create(
                CultureInfo.InvariantCulture,
                $"{FormatAddress(_settings.ListenAddress.ToString())}:{_settings.Proxy.Port}"),
            Listening = ProxyListening,
            Requests = (ulong)_requests.Requests,
            Failures = (ulong)_requests.Failures,
            OpenConnections = (ulong)OpenProxyConnections,
        };

        foreach (var cluster in _proxyState.GetClusters().OrderBy(c => c.ClusterId, StringComparer.Ordinal))
        {
            var clusterStatus = new ClusterStatus { ClusterId = cluster.ClusterId };
            foreach (var (destinationId, destination) in cluster.Destinations.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                clusterStatus.Destinations.Add(new DestinationStatus
                {
                    DestinationId = destinationId,
                    Address = destination.Model.Config.Address,
                    ActiveHealth = ToProto(destination.Health.Active),
                    PassiveHealth = ToProto(destination.Health.Passive),
                    Health = Combine(destination.Health),
                });
            }

            status.Clusters.Add(clusterStatus);
        }

        return status;
    }

    private SessionStoreStatus CollectSessionStore()
    {
        var status = new SessionStoreStatus
        {
            Kind = _settings.UsesRedis ? SessionStoreKind.Redis : SessionStoreKind.InProcess,
            ConnectionState = CollectStoreConnectionState(),
            LastError = LastStoreError,
            LocalAffinityPins = (ulong)(_localPins?.Count ?? 0),
        };

        if (StoreRoundTripTime is { } roundTrip)
        {
            status.RoundTripTime = Duration.FromTimeSpan(roundTrip);
        }

        if (_ticketKeys?.Ring.Current is { } keys)
        {
            var now = _timeProvider.GetUtcNow();
            foreach (var key in keys.Decryption)
            {
                status.TicketKeys.Add(new TicketKeyStatus
                {
                    Id = key.Id,
                    Age = Duration.FromTimeSpan(now - key.ValidFrom),
                    Encrypts = ReferenceEquals(key, keys.Encryption),
                });
            }

            status.TicketKeysDegraded = keys.IsDegraded;
        }

        return status;
    }

    private static string FormatAddress(string address) => address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
}

/// <summary>Values of <c>NodeStatus.degraded_reasons</c>.</summary>
internal static class DegradedReasons
{
    /// <summary>The Redis session store is configured but not connected.</summary>
    public const string SessionStoreUnreachable = "session_store_unreachable";

    /// <summary>The last ticket key refresh could not reach Redis, so the node uses cached or local keys.</summary>
    public const string TicketKeysNotShared = "ticket_keys_not_shared";
}
