using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Tandem.Node.Tests.SessionAffinity;

/// <summary>
/// A node with two backends on 127.0.0.1 whose pinned destination YARP then marks unhealthy, through the passive
/// health updater, so the test decides the health instead of waiting for probes.
/// </summary>
public sealed class UnhealthyPinEndToEndTests : IAsyncLifetime
{
    private const string CookieName = "Tandem.Affinity";

    private readonly TestCertificate _certificate = TestCertificate.Create();
    private TestBackend _backend1 = null!;
    private TestBackend _backend2 = null!;
    private readonly TestNodes _nodes = new();
    private WebApplication? _node;
    private HttpClient _client = null!;
    private int _port;

    public async ValueTask InitializeAsync()
    {
        _backend1 = await TestBackend.StartAsync("b1");
        _backend2 = await TestBackend.StartAsync("b2");
        _port = RedisServer.GetFreePort();
        _client = TestHttp.CreateClient(_certificate);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _nodes.DisposeAsync();

        await _backend1.DisposeAsync();
        await _backend2.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task Repin_MovesSessionAndRewritesCookie()
    {
        await StartNodeAsync("Repin");
        var (cookie, pinned) = await PinAsync();
        MarkUnhealthy(pinned);

        using var moved = await TestHttp.GetHelloAsync(_client, _port, cookie);
        var newCookie = TestHttp.ReadCookie(moved);
        var target = await TestHttp.ReadBackendAsync(moved);
        using var again = await TestHttp.GetHelloAsync(_client, _port, newCookie);

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.NotEqual(pinned, target);
        Assert.Equal(cookie[..(CookieName.Length + 1 + SessionId.TextLength)], newCookie[..(CookieName.Length + 1 + SessionId.TextLength)]);
        Assert.Equal(target, await TestHttp.ReadBackendAsync(again));
        Assert.False(again.Headers.Contains("Set-Cookie"), "The cookie was rewritten a second time.");
        Assert.Equal(1, _node!.Services.GetRequiredService<AffinityMetrics>().Repinned);
    }

    [Fact]
    public async Task Fail_Answers503AndKeepsPin()
    {
        await StartNodeAsync("Fail");
        var (cookie, pinned) = await PinAsync();
        MarkUnhealthy(pinned);

        using var response = await TestHttp.GetHelloAsync(_client, _port, cookie);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"), "A 503 for an unhealthy pin set a cookie.");
        Assert.Equal(1, _node!.Services.GetRequiredService<AffinityMetrics>().UnhealthyPinRejected);
    }

    private async Task StartNodeAsync(string policy)
    {
        var configuration = new NodeConfiguration(_certificate, _port, _backend1.Address, _backend2.Address)
            .Set("SessionStore:UnhealthyPinPolicy", policy)
            .Set("ReverseProxy:Clusters:backends:HealthCheck:Passive:Enabled", "true");
        _node = await _nodes.StartAsync(configuration);
    }

    private async Task<(string Cookie, string Backend)> PinAsync()
    {
        using var first = await TestHttp.GetHelloAsync(_client, _port, cookie: null);
        return (TestHttp.ReadCookie(first), await TestHttp.ReadBackendAsync(first));
    }

    private void MarkUnhealthy(string destinationId)
    {
        Assert.True(_node!.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster("backends", out var cluster));
        var destination = cluster.Destinations[destinationId];
        _node.Services.GetRequiredService<IDestinationHealthUpdater>()
            .SetPassive(cluster, destination, DestinationHealth.Unhealthy, TimeSpan.FromMinutes(10));

        // SetPassive recomputes the available destinations on the thread pool, so the test does it now.
        _node.Services.GetRequiredService<IClusterDestinationsUpdater>().UpdateAvailableDestinations(cluster);
        // A DestinationState is a list that contains itself, so xunit's equality would recurse: compare ids.
        Assert.DoesNotContain(destinationId, cluster.DestinationsState.AvailableDestinations.Select(available => available.DestinationId));
    }
}
