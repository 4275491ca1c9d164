using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.SessionAffinity;

/// <summary>
/// Two nodes on 127.0.0.1 that share a real redis-server and two backends. Node A pins a session, Redis is killed,
/// and node B, which never saw the pin, routes the session by the cookie's hint alone.
/// </summary>
public sealed class DestinationHintEndToEndTests : IAsyncLifetime
{
    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly string _keyPrefix = $"t{Guid.NewGuid():N}:";
    private readonly TestNodes _nodes = new();
    private TestBackend _backend1 = null!;
    private TestBackend _backend2 = null!;
    private RedisServer? _redis;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _backend1 = await TestBackend.StartAsync("b1");
        _backend2 = await TestBackend.StartAsync("b2");
        if (RedisServer.GetSkipReason() is null)
        {
            _redis = await RedisServer.StartAsync();
        }

        _client = TestHttp.CreateClient(_certificate);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _nodes.DisposeAsync();

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        await _backend1.DisposeAsync();
        await _backend2.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task RedisDown_OtherNodeRoutesByHint()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        var portA = await StartNodeAsync();
        var portB = await StartNodeAsync();
        using var first = await TestHttp.GetHelloAsync(_client, portA, cookie: null);
        var cookie = TestHttp.ReadCookie(first);
        var pinned = await TestHttp.ReadBackendAsync(first);

        await _redis!.KillAsync();
        var routed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await TestHttp.GetHelloAsync(_client, portB, cookie);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            routed.Add(await TestHttp.ReadBackendAsync(response));
        }

        Assert.All(routed, backend => Assert.Equal(pinned, backend));
        var metricsB = _nodes[1].Services.GetRequiredService<AffinityMetrics>();
        Assert.Equal(1, metricsB.RoutedByHint);
        Assert.Equal(0, metricsB.PinsCreated);
    }

    private async Task<int> StartNodeAsync()
    {
        var port = RedisServer.GetFreePort();
        var configuration = new NodeConfiguration(_certificate, port, _backend1.Address, _backend2.Address)
            .Set("SessionStore:Redis", _redis!.Configuration)
            .Set("SessionStore:KeyPrefix", _keyPrefix);
        await _nodes.StartAsync(configuration);
        return port;
    }
}
