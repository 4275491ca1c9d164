using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Tandem.Monitoring.V1;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Monitoring;

/// <summary>
/// A node on 127.0.0.1 whose redis-server is killed: it reports itself degraded in GetStatus, in /metrics and with a
/// Watch event, while the standard gRPC health stays SERVING.
/// </summary>
public sealed class DegradedStatusTests : IAsyncLifetime
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly int _managementPort = RedisServer.GetFreePort();
    private readonly int _metricsPort = RedisServer.GetFreePort();
    private TestBackend _backend = null!;
    private RedisServer? _redis;
    private readonly TestNodes _nodes = new();
    private GrpcChannel? _channel;

    public async ValueTask InitializeAsync()
    {
        _backend = await TestBackend.StartAsync("b1");
        if (RedisServer.GetSkipReason() is null)
        {
            _redis = await RedisServer.StartAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await _nodes.DisposeAsync();

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        await _backend.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task RedisKilled_DegradedButServing()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        var monitor = await StartNodeAsync(_redis!.Configuration);
        var before = await monitor.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        using var watch = monitor.Watch(new WatchRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        Assert.Equal(NodeEvent.EventOneofCase.Snapshot, watch.ResponseStream.Current.EventCase);

        await _redis.KillAsync();
        var change = await ReadDegradedChangeAsync(watch.ResponseStream);
        var after = await monitor.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var health = await new Health.HealthClient(_channel).CheckAsync(
            new HealthCheckRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var metrics = await ScrapeAsync();

        Assert.False(before.Degraded);
        Assert.Empty(before.DegradedReasons);
        Assert.True(change.Degraded);
        Assert.Contains(DegradedReasons.SessionStoreUnreachable, change.Reasons);
        Assert.True(after.Degraded);
        Assert.Contains(DegradedReasons.SessionStoreUnreachable, after.DegradedReasons);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains("\ntandem_node_degraded 1\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InProcessStore_NotDegraded()
    {
        var monitor = await StartNodeAsync(redis: null);

        var status = await monitor.GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var metrics = await ScrapeAsync();

        Assert.False(status.Degraded);
        Assert.Empty(status.DegradedReasons);
        Assert.Contains("\ntandem_node_degraded 0\n", metrics, StringComparison.Ordinal);
    }

    /// <summary>Reads Watch events until the first degraded_changed, within the call's deadline.</summary>
    private static async Task<DegradedChanged> ReadDegradedChangeAsync(IAsyncStreamReader<NodeEvent> events)
    {
        while (await events.MoveNext(TestContext.Current.CancellationToken))
        {
            if (events.Current.EventCase == NodeEvent.EventOneofCase.DegradedChanged)
            {
                return events.Current.DegradedChanged;
            }
        }

        throw new InvalidOperationException("The Watch stream ended without a degraded_changed event.");
    }

    private async Task<NodeMonitor.NodeMonitorClient> StartNodeAsync(string? redis)
    {
        var configuration = new NodeConfiguration(_certificate, RedisServer.GetFreePort(), _backend.Address)
            .Set("Management:Port", _managementPort.ToString(CultureInfo.InvariantCulture))
            .Set("Management:MetricsPort", _metricsPort.ToString(CultureInfo.InvariantCulture));
        if (redis is not null)
        {
            configuration
                .Set("SessionStore:Redis", redis)
                .Set("SessionStore:KeyPrefix", $"t{Guid.NewGuid():N}:")
                .Set("SessionStore:ConnectTimeoutMilliseconds", "500");
        }

        await _nodes.StartAsync(configuration);
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_managementPort}");
        return new NodeMonitor.NodeMonitorClient(_channel);
    }

    private async Task<string> ScrapeAsync()
    {
        using var client = new HttpClient { Timeout = CallTimeout };
        return await client.GetStringAsync($"http://127.0.0.1:{_metricsPort}/metrics", TestContext.Current.CancellationToken);
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;
}
