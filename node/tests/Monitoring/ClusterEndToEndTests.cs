using System.Globalization;
using System.Net;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Monitoring.V1;
using Tandem.Node.Hosting;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Monitoring;

/// <summary>
/// Hosts nodes in process on 127.0.0.1 and calls GetCluster over plain-text HTTP/2: alone with the in-process store,
/// two nodes sharing a redis-server started by the test, and a node whose Redis does not answer.
/// </summary>
public sealed class ClusterEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly TestCertificate _certificate = TestCertificate.Create("CN=tandem-cluster-test");
    private readonly TestNodes _nodes = new();
    private readonly List<GrpcChannel> _channels = [];
    private TestBackend _backend = null!;

    public async ValueTask InitializeAsync() => _backend = await TestBackend.StartAsync("b1");

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        await _nodes.DisposeAsync();

        await _backend.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task GetCluster_InProcessStore_OnlySelf()
    {
        var client = await StartNodeAsync("node-solo");

        var view = await client.GetClusterAsync(new GetClusterRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("node-solo", view.ReportingNode);
        Assert.True(view.PeersAvailable);
        Assert.Equal("", view.PeersError);
        Assert.Equal(1000u, view.HeartbeatIntervalMs);
        var member = Assert.Single(view.Members);
        Assert.True(member.Self);
        Assert.False(member.Stale);
        Assert.Equal(TimeSpan.Zero, member.Age.ToTimeSpan());
        Assert.Equal("node-solo", member.Status.NodeName);
        Assert.Empty(view.VirtualRouters);
    }

    [Fact]
    public async Task GetCluster_SharedRedis_ListsBothNodes()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        await using var redis = await RedisServer.StartAsync();
        var prefix = $"cluster-{Guid.NewGuid():N}:";
        var clientA = await StartNodeAsync("node-a", configuration => UseRedis(configuration, redis.Configuration, prefix));
        await StartNodeAsync("node-b", configuration => UseRedis(configuration, redis.Configuration, prefix));

        // Each node publishes at start and then every second, so both appear within a few seconds.
        ClusterView? view = null;
        for (var attempt = 0; attempt < 50 && view?.Members.Count != 2; attempt++)
        {
            view = await clientA.GetClusterAsync(new GetClusterRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }

        Assert.NotNull(view);
        Assert.True(view.PeersAvailable);
        Assert.Equal(["node-a", "node-b"], view.Members.Select(m => m.Status.NodeName));
        Assert.True(view.Members[0].Self);
        Assert.False(view.Members[1].Self);
        Assert.False(view.Members[1].Stale);
        Assert.InRange(view.Members[1].Age.ToTimeSpan(), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(SessionStoreKind.Redis, view.Members[1].Status.SessionStore.Kind);
        Assert.Equal(StoreConnectionState.Connected, view.Members[1].Status.SessionStore.ConnectionState);

        var own = await clientA.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(own.SessionStore.RoundTripTime);
        Assert.InRange(own.SessionStore.RoundTripTime.ToTimeSpan(), TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task GetCluster_InvalidHeartbeatRejectedAndCounted()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        await using var redis = await RedisServer.StartAsync();
        var prefix = $"cluster-{Guid.NewGuid():N}:";

        // Not a NodeStatus: 4 bytes of expiry header, then field 1 announcing 127 bytes that never come.
        Assert.Equal("+OK", await redis.SendCommandAsync("SET", $"{prefix}heartbeat:bogus", "abcd\n\u007f", "PX", "60000"));
        Assert.Equal(":1", await redis.SendCommandAsync("SADD", $"{prefix}heartbeat-nodes", "bogus"));
        var managementPort = RedisServer.GetFreePort();
        var client = await StartNodeAsync(
            "node-a",
            configuration => UseRedis(configuration, redis.Configuration, prefix),
            managementPort);

        var view = await client.GetClusterAsync(new GetClusterRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var metrics = await ReadMetricsAsync(managementPort);

        Assert.True(view.PeersAvailable);
        Assert.Equal(["node-a"], view.Members.Select(m => m.Status.NodeName));
        Assert.Contains("tandem_cluster_heartbeats_rejected_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("tandem_proxy_open_connections 0", metrics, StringComparison.Ordinal);
        Assert.Contains("tandem_session_store_round_trip_seconds ", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetCluster_RedisDown_SelfAndError()
    {
        var closedPort = RedisServer.GetFreePort();
        var client = await StartNodeAsync("node-a", configuration => configuration
            .Set("SessionStore:Redis", $"127.0.0.1:{closedPort}")
            .Set("SessionStore:ConnectTimeoutMilliseconds", "300"));

        var view = await client.GetClusterAsync(new GetClusterRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var status = await client.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(view.PeersAvailable);
        Assert.NotEqual("", view.PeersError);
        var member = Assert.Single(view.Members);
        Assert.True(member.Self);
        Assert.Equal("node-a", member.Status.NodeName);
        Assert.Null(status.SessionStore.RoundTripTime);
    }

    [Fact]
    public async Task GetStatus_CountsOpenProxyConnections()
    {
        var proxyPort = RedisServer.GetFreePort();
        var client = await StartNodeAsync("node-a", configuration => configuration.Set("Proxy:Port", proxyPort.ToString(CultureInfo.InvariantCulture)));
        using var handler = new SocketsHttpHandler
        {
            // The test certificate is self-signed; only the connection count matters here.
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync($"https://127.0.0.1:{proxyPort}/", TestContext.Current.CancellationToken);

        var status = await client.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1ul, status.Proxy.OpenConnections);
    }

    [Fact]
    public async Task Watch_CertificateExpiring_OncePerDay()
    {
        using var certificate = TestCertificate.Create("CN=tandem-expiring", validDays: 20);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var configuration = new NodeConfiguration(certificate, RedisServer.GetFreePort(), _backend.Address)
            .Set("Management:Port", RedisServer.GetFreePort().ToString(CultureInfo.InvariantCulture))
            .Set("Management:CertificateExpiryWarningDays", "14");

        // The node is built but not started: the test drives the hub's poll on the fake clock.
        await using var node = await NodeApplication.CreateAsync(configuration.AddTo, new NodeApplicationOptions { TimeProvider = clock });
        var hub = node.Services.GetRequiredService<NodeEventHub>();
        using var subscription = hub.Subscribe();

        // The first poll also reports the store state against the hub's unset initial one, so only certificate
        // events are counted.
        hub.PollOnce();
        var beforeThreshold = ReadCertificateEvents(subscription);

        // 19 days and almost 24 hours are left at the start, so 5 days and 1 hour later 14 whole days are left.
        clock.Advance(TimeSpan.FromDays(5) + TimeSpan.FromHours(1));
        hub.PollOnce();
        var first = ReadCertificateEvents(subscription);
        hub.PollOnce();
        var repeated = ReadCertificateEvents(subscription);

        clock.Advance(TimeSpan.FromDays(1));
        hub.PollOnce();
        var second = ReadCertificateEvents(subscription);

        Assert.Empty(beforeThreshold);
        var firstEvent = Assert.Single(first);
        Assert.Equal("CN=tandem-expiring", firstEvent.Subject);
        Assert.Equal(14, firstEvent.DaysLeft);
        Assert.Equal(14, firstEvent.WarningDays);
        Assert.Empty(repeated);
        var secondEvent = Assert.Single(second);
        Assert.Equal(13, secondEvent.DaysLeft);
    }

    private static List<CertificateExpiring> ReadCertificateEvents(NodeEventHub.Subscription subscription)
    {
        var events = new List<CertificateExpiring>();
        while (subscription.Reader.TryRead(out var nodeEvent))
        {
            if (nodeEvent.EventCase == NodeEvent.EventOneofCase.CertificateExpiring)
            {
                events.Add(nodeEvent.CertificateExpiring);
            }
        }

        return events;
    }

    private static NodeConfiguration UseRedis(NodeConfiguration configuration, string redis, string prefix) => configuration
        .Set("SessionStore:Redis", redis)
        .Set("SessionStore:KeyPrefix", prefix);

    private async Task<NodeMonitor.NodeMonitorClient> StartNodeAsync(
        string name,
        Action<NodeConfiguration>? configure = null,
        int? managementPortOrNull = null)
    {
        var managementPort = managementPortOrNull ?? RedisServer.GetFreePort();
        var configuration = new NodeConfiguration(_certificate, RedisServer.GetFreePort(), _backend.Address)
            .Set("Node:Name", name)
            .Set("Management:Port", managementPort.ToString(CultureInfo.InvariantCulture));
        configure?.Invoke(configuration);

        await _nodes.StartAsync(configuration);

        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{managementPort}");
        _channels.Add(channel);
        return new NodeMonitor.NodeMonitorClient(channel);
    }

    private static async Task<string> ReadMetricsAsync(int managementPort)
    {
        using var http = new HttpClient { Timeout = CallTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{managementPort}/metrics")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;
}
