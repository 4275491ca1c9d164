using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Tandem.Node.Hosting;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Hosting;

/// <summary>
/// Runs two nodes in process on 127.0.0.1 that share a real redis-server, in front of two backends, with VRRP off.
/// </summary>
public sealed class NodeClusterEndToEndTests : IAsyncLifetime
{
    private const string CookieName = "Tandem.Affinity";

    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly FakeLogCollector _logs = new();
    private readonly List<WebApplication> _nodes = [];

    // Shared by the nodes of one test and unique per test, so tests never see each other's pins.
    private readonly string _keyPrefix = $"test-{Guid.NewGuid():N}:";
    private RedisServer? _redis;
    private TestBackend _backend1 = null!;
    private TestBackend _backend2 = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.GetSkipReason() is null)
        {
            _redis = await RedisServer.StartAsync();
        }

        _backend1 = await TestBackend.StartAsync("b1");
        _backend2 = await TestBackend.StartAsync("b2");

        // Both nodes serve the same throwaway certificate, and only the test's own nodes are reached.
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate?.GetCertHashString() == _certificate.Certificate.GetCertHashString(),
            },
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        foreach (var node in _nodes)
        {
            await node.StopAsync();
            await node.DisposeAsync();
        }

        await _backend1.DisposeAsync();
        await _backend2.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _certificate.Dispose();
    }

    [Fact]
    public async Task PinFromNodeA_HoldsOnNodeB()
    {
        var redis = RequireRedis();
        var portA = await StartNodeAsync(redis);
        var portB = await StartNodeAsync(redis);

        using var first = await GetAsync(portA, cookie: null);
        var cookie = ReadAffinityCookie(first);
        var pinnedBackend = await ReadBackendAsync(first);

        for (var i = 0; i < 10; i++)
        {
            using var onB = await GetAsync(portB, cookie);
            using var onA = await GetAsync(portA, cookie);
            Assert.Equal(pinnedBackend, await ReadBackendAsync(onB));
            Assert.Equal(pinnedBackend, await ReadBackendAsync(onA));
        }
    }

    [Fact]
    public async Task RedisDown_RequestsStillSucceedQuickly()
    {
        var redis = RequireRedis();
        var port = await StartNodeAsync(redis);
        using var before = await GetAsync(port, cookie: null);
        var cookie = ReadAffinityCookie(before);
        var pinnedBackend = await ReadBackendAsync(before);

        await redis.KillAsync();

        for (var i = 0; i < 5; i++)
        {
            var elapsed = Stopwatch.StartNew();
            using var newSession = await GetAsync(port, cookie: null);
            using var pinnedSession = await GetAsync(port, cookie);
            elapsed.Stop();

            Assert.Equal(HttpStatusCode.OK, newSession.StatusCode);
            Assert.Equal(HttpStatusCode.OK, pinnedSession.StatusCode);

            // The node-local cache still has the pin it wrote before Redis went away.
            Assert.Equal(pinnedBackend, await ReadBackendAsync(pinnedSession));

            // Two requests, each waiting at most the 250 ms operation timeout for Redis, plus proxying.
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"Two requests took {elapsed.Elapsed}.");
        }

        Assert.Contains(_logs.GetSnapshot(), record => record.Category == "Tandem.SessionStore.Redis" && record.Level == LogLevel.Warning);
    }

    private RedisServer RequireRedis()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        return _redis!;
    }

    private async Task<int> StartNodeAsync(RedisServer redis)
    {
        var port = GetFreePort();
        var configuration = new NodeConfiguration(_certificate, port, _backend1.Address, _backend2.Address)
            .Set("Node:Name", $"node-{_nodes.Count + 1}")
            .Set("SessionStore:Redis", redis.Configuration)
            .Set("SessionStore:KeyPrefix", _keyPrefix);

        var node = await NodeApplication.CreateAsync(
            configuration.AddTo,
            new NodeApplicationOptions { ConfigureLogging = logging => logging.AddProvider(new FakeLoggerProvider(_logs)) });
        _nodes.Add(node);
        await node.StartAsync(TestContext.Current.CancellationToken);
        return port;
    }

    private async Task<HttpResponseMessage> GetAsync(int port, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        var response = await _client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private static string ReadAffinityCookie(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Set-Cookie", out var values), "The response has no Set-Cookie header.");
        var setCookie = Assert.Single(values);
        Assert.StartsWith(CookieName + "=", setCookie, StringComparison.Ordinal);
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<string> ReadBackendAsync(HttpResponseMessage response) =>
        TestBackend.ParseEcho(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))["Name"];

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
