using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Configuration;
using Tandem.Node.Monitoring;
using Tandem.Node.Vrrp;
using Tandem.Node.Vrrp.Tracking;
using Tandem.Vrrp;
using Tandem.Vrrp.Tracking;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Tandem.Node.Tests.Vrrp.Tracking;

public sealed class NodeConditionTrackerTests
{
    private readonly FakeTimeProvider _time = new();
    private ConditionCheck _listener = new(false, "listening");
    private ConditionCheck _store = new(false, "Redis connected");
    private readonly Dictionary<string, ConditionCheck> _pools = new() { ["web"] = new(false, "2 of 2 destinations available") };

    private static VrrpOptions Options(params VrrpTrackOptions[] track) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = 150,
        VirtualAddresses = ["198.51.100.100/24"],
        Track = [.. track],
        TrackIntervalMilliseconds = 500,
    };

    private VrrpRouter CreateRouter(VrrpOptions options) =>
        new(new VrrpRouterSettings("web", options, "Vrrp"), new VrrpSpeaker(options, NullLoggerFactory.Instance, _time));

    private NodeConditionTracker CreateTracker(VrrpRouter router, Func<string, ConditionCheck>? pool = null) =>
        new([router], new NodeConditionSources(_ => _listener, pool ?? (id => _pools[id]), () => _store), _time, NullLogger.Instance);

    [Fact]
    public async Task Started_ChecksAtOnceThenEveryInterval()
    {
        var router = CreateRouter(Options(
            new VrrpTrackOptions { Condition = "pool:web", Weight = 30 },
            new VrrpTrackOptions { Condition = "store", Weight = 20 },
            new VrrpTrackOptions { Condition = "listener", Weight = 0 }));
        using var tracker = CreateTracker(router);
        _store = new ConditionCheck(true, "Redis disconnected");

        await tracker.StartedAsync(TestContext.Current.CancellationToken);

        var conditions = router.Speaker.TrackedConditions;
        Assert.False(conditions[0].IsFailed);
        Assert.True(conditions[1].IsFailed);
        Assert.Equal("Redis disconnected", conditions[1].Detail);
        Assert.False(conditions[2].IsFailed);

        _pools["web"] = new ConditionCheck(true, "0 of 2 destinations available");
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(conditions[0].IsFailed);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(conditions[0].IsFailed);
    }

    [Fact]
    public async Task Stopping_EndsTheChecks()
    {
        var router = CreateRouter(Options(new VrrpTrackOptions { Condition = "store", Weight = 20 }));
        using var tracker = CreateTracker(router);
        await tracker.StartedAsync(TestContext.Current.CancellationToken);

        await tracker.StoppingAsync(TestContext.Current.CancellationToken);
        _store = new ConditionCheck(true, "Redis disconnected");
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(router.Speaker.TrackedConditions[0].IsFailed);
    }

    [Fact]
    public async Task ThrowingCheck_CountsAsFailed()
    {
        var router = CreateRouter(Options(new VrrpTrackOptions { Condition = "pool:web", Weight = 30 }));
        using var tracker = CreateTracker(router, _ => throw new InvalidOperationException("proxy state unavailable"));

        await tracker.StartedAsync(TestContext.Current.CancellationToken);

        var condition = Assert.Single(router.Speaker.TrackedConditions);
        Assert.True(condition.IsFailed);
        Assert.Equal("check failed: proxy state unavailable", condition.Detail);
    }

    [Fact]
    public async Task LinkAndFile_LeftToSpeaker()
    {
        var router = CreateRouter(Options(new VrrpTrackOptions { Condition = "link:eth1", Weight = 30 }));
        using var tracker = CreateTracker(router, _ => throw new InvalidOperationException("must not be called"));

        await tracker.StartedAsync(TestContext.Current.CancellationToken);

        Assert.Equal("", Assert.Single(router.Speaker.TrackedConditions).Detail);
    }

    [Fact]
    public void Status_ListsFailedConditions()
    {
        var options = Options(
            new VrrpTrackOptions { Condition = "pool:web", Weight = 30 },
            new VrrpTrackOptions { Condition = "store", Weight = 20 },
            new VrrpTrackOptions { Condition = "file:/run/tandem/vrrp-down", Weight = 10 });
        var router = CreateRouter(options);
        router.Speaker.TrackedConditions[0].SetFailed(true, "0 of 2 destinations available");
        router.Speaker.TrackedConditions[2].SetFailed(true, "file present");

        var status = NodeStatusCollector.CollectVirtualRouter(options, router.Speaker);

        Assert.Equal(["track:pool:web", "track:file:/run/tandem/vrrp-down"], status.PriorityLoweredBy);
    }

    [Fact]
    public void CheckListener_FollowsHostLifetime()
    {
        var lifetime = new FakeLifetime();

        Assert.Equal(new ConditionCheck(true, "not listening yet"), NodeConditionChecks.CheckListener(false, lifetime));
        Assert.Equal(new ConditionCheck(false, "listening"), NodeConditionChecks.CheckListener(true, lifetime));

        lifetime.Stopping.Cancel();
        Assert.Equal(new ConditionCheck(true, "the node is stopping"), NodeConditionChecks.CheckListener(true, lifetime));
    }

    [Fact]
    public void CheckPool_NeedsAvailableDestination()
    {
        var healthy = new DestinationState("a");
        var unhealthy = new DestinationState("b");
        var cluster = new ClusterState("web") { DestinationsState = new ClusterDestinationsState([healthy, unhealthy], [healthy]) };
        var empty = new ClusterState("api") { DestinationsState = new ClusterDestinationsState([unhealthy], []) };
        var lookup = new FakeProxyState(cluster, empty);

        Assert.Equal(new ConditionCheck(false, "1 of 2 destinations available"), NodeConditionChecks.CheckPool(lookup, "web"));
        Assert.Equal(new ConditionCheck(true, "0 of 1 destinations available"), NodeConditionChecks.CheckPool(lookup, "api"));
        Assert.Equal(new ConditionCheck(true, "cluster not found in ReverseProxy:Clusters"), NodeConditionChecks.CheckPool(lookup, "cache"));
    }

    [Fact]
    public void CheckStore_InProcessAlwaysHolds()
    {
        Assert.Equal(new ConditionCheck(false, "in-process store"), NodeConditionChecks.CheckStore(null));
    }

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Stopping { get; } = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => Stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopping.Cancel();
    }

    private sealed class FakeProxyState(params ClusterState[] clusters) : IProxyStateLookup
    {
        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<ClusterState> GetClusters() => clusters;

        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = clusters.FirstOrDefault(c => c.ClusterId == id);
            return cluster is not null;
        }
    }
}
