using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Node.Hosting;
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
    private readonly List<WebApplication> _nodes = [];
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

        _client = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { _certificate.Certificate },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            },
        })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        foreach (var node in _nodes)
        {
            await node.StopAsync();
            await node.DisposeAsync();
        }

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
        using var first = await SendAsync(portA, cookie: null);
        var cookie = ReadCookie(first);
        var pinned = await ReadBackendAsync(first);

        await _redis!.KillAsync();
        var routed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync(portB, cookie);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            routed.Add(await ReadBackendAsync(response));
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
        var node = await NodeApplication.CreateAsync(configuration.AddTo);
        _nodes.Add(node);
        await node.StartAsync(TestContext.Current.CancellationToken);
        return port;
    }

    private async Task<HttpResponseMessage> SendAsync(int port, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/hello");
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        return await _client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static string ReadCookie(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Set-Cookie", out var values), "The response has no Set-Cookie header.");
        var setCookie = Assert.Single(values);
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<string> ReadBackendAsync(HttpResponseMessage response) =>
        TestBackend.ParseEcho(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))["Name"];
}
