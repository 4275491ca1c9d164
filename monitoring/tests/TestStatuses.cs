using Google.Protobuf.WellKnownTypes;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

internal static class TestStatuses
{
    public static NodeStatus Master(string name = "node-a") => Create(name, VrrpState.Master, master: null);

    public static NodeStatus Backup(string name = "node-b") =>
        Create(name, VrrpState.Backup, new MasterHeard { Address = "198.51.100.11", Priority = 150 });

    public static NodeStatus WithoutVrrp()
    {
        var status = Create("single", VrrpState.Initialize, master: null);
        status.VirtualRouters.Clear();
        status.SessionStore = new SessionStoreStatus
        {
            Kind = SessionStoreKind.InProcess,
            ConnectionState = StoreConnectionState.NotApplicable,
        };
        return status;
    }

    private static NodeStatus Create(string name, VrrpState state, MasterHeard? master)
    {
        var router = new VirtualRouterStatus
        {
            Vrid = 51,
            State = state,
            ConfiguredPriority = state == VrrpState.Master ? 150u : 100u,
            AdvertisementIntervalCentiseconds = 100,
            MasterHeard = master,
            Counters = new VrrpCounters(),
        };
        router.VirtualAddresses.Add("198.51.100.100/24");
        if (state == VrrpState.Master)
        {
            router.VirtualAddressesHeld.Add("198.51.100.100/24");
        }

        var cluster = new ClusterStatus { ClusterId = "backends" };
        cluster.Destinations.Add(new DestinationStatus { DestinationId = "b1", Health = DestinationHealth.Healthy });
        cluster.Destinations.Add(new DestinationStatus { DestinationId = "b2", Health = DestinationHealth.Unhealthy });

        var status = new NodeStatus
        {
            NodeName = name,
            Version = "1.0.0",
            StartTime = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            Proxy = new ProxyStatus { ListenEndpoint = "0.0.0.0:443", Listening = true },
            SessionStore = new SessionStoreStatus
            {
                Kind = SessionStoreKind.Redis,
                ConnectionState = StoreConnectionState.Connected,
            },
            Certificate = new CertificateStatus { Subject = "CN=www.example.com", DaysLeft = 42 },
        };
        status.Proxy.Clusters.Add(cluster);
        status.VirtualRouters.Add(router);
        return status;
    }
}
