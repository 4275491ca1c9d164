using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Hosting;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;
using Tandem.Node.Tls;
using Tandem.Node.Tls.OpenSsl;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Tls;

/// <summary>
/// The OpenSSL TLS engine on 127.0.0.1: two node instances share a real redis-server, so a session ticket issued by
/// one resumes on the other.
/// </summary>
public sealed class OpenSslTlsEngineTests : IAsyncLifetime
{
    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-tls-").FullName;
    private readonly string _keyPrefix = $"t{Guid.NewGuid():N}:";
    private readonly List<WebApplication> _nodes = [];
    private RedisServer? _redis;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.GetSkipReason() is null && OpenSslClient.GetSkipReason() is null)
        {
            _redis = await RedisServer.StartAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync();
            await node.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _certificate.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task Ticket_FromOneNode_ResumesOnOther(string version)
    {
        var redis = RequireRedis();
        var (_, portA) = await StartNodeAsync(redis.Configuration);
        var (nodeB, portB) = await StartNodeAsync(redis.Configuration);
        var session = Path.Combine(_directory, "session.pem");

        var first = await OpenSslClient.RunAsync(portA, version, sessionIn: null, sessionOut: session);
        var second = await OpenSslClient.RunAsync(portB, version, sessionIn: session, sessionOut: null);

        Assert.False(OpenSslClient.IsReused(first), first);
        Assert.True(OpenSslClient.IsReused(second), second);
        Assert.Contains("HTTP/1.1 ", second, StringComparison.Ordinal);
        Assert.Equal(1, nodeB.Services.GetRequiredService<TlsMetrics>().ResumedHandshakes);
    }

    [Fact]
    public async Task Ticket_AfterRedisFlush_ResumesOnNewNode()
    {
        var redis = RequireRedis();
        var (nodeA, portA) = await StartNodeAsync(redis.Configuration);
        var session = Path.Combine(_directory, "flushed.pem");
        var first = await OpenSslClient.RunAsync(portA, "-tls1_3", sessionIn: null, sessionOut: session);

        // Redis restarted empty. Node A refreshes first, then node B starts with no cached keys.
        Assert.Equal("+OK", await redis.SendCommandAsync("FLUSHALL"));
        await nodeA.Services.GetRequiredService<TicketKeyRingService>().Ring.RefreshAsync(TestContext.Current.CancellationToken);
        var (nodeB, portB) = await StartNodeAsync(redis.Configuration);
        var second = await OpenSslClient.RunAsync(portB, "-tls1_3", sessionIn: session, sessionOut: null);

        Assert.False(OpenSslClient.IsReused(first), first);
        Assert.True(OpenSslClient.IsReused(second), second);
        Assert.Equal(1, nodeB.Services.GetRequiredService<TlsMetrics>().ResumedHandshakes);
    }

    [Fact]
    public async Task Status_ListsTicketKeysByIdAndAgeOnly()
    {
        var redis = RequireRedis();
        var (node, _) = await StartNodeAsync(redis.Configuration);

        var status = node.Services.GetRequiredService<NodeStatusCollector>().Collect().SessionStore;
        var current = node.Services.GetRequiredService<TicketKeyRingService>().Ring.Current;

        var encrypting = Assert.Single(status.TicketKeys, key => key.Encrypts);
        Assert.Equal(current.Encryption.Id, encrypting.Id);
        Assert.Equal(current.Decryption.Count, status.TicketKeys.Count);
        Assert.InRange(encrypting.Age.ToTimeSpan(), TimeSpan.Zero, TimeSpan.FromSeconds(3600));
        Assert.False(status.TicketKeysDegraded);
    }

    [Fact]
    public async Task Ticket_UnderRetiredKey_GetsFullHandshake()
    {
        var redis = RequireRedis();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (node, port) = await StartNodeAsync(redis.Configuration, clock);
        var ring = node.Services.GetRequiredService<TicketKeyRingService>().Ring;
        var session = Path.Combine(_directory, "retired.pem");
        var first = await OpenSslClient.RunAsync(port, "-tls1_3", sessionIn: null, sessionOut: session);

        // Overlap 1: the key encrypts for one interval and decrypts for one more, then retires.
        clock.Advance(ring.Options.RotationInterval * 2);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var second = await OpenSslClient.RunAsync(port, "-tls1_3", sessionIn: session, sessionOut: null);

        Assert.False(OpenSslClient.IsReused(first), first);
        Assert.False(OpenSslClient.IsReused(second), second);
        Assert.Equal(1, node.Services.GetRequiredService<TlsMetrics>().TicketsRejected);
    }

    [Fact]
    public async Task Alpn_H2_ServesHttp2()
    {
        var redis = RequireRedis();
        var (_, port) = await StartNodeAsync(redis.Configuration);
        using var client = CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpVersion.Version20, response.Version);

        // The only destination refuses connections, so YARP returns 502: the request went through the proxy.
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task GarbageClientHello_CountedWithoutCrash()
    {
        var redis = RequireRedis();
        var (node, port) = await StartNodeAsync(redis.Configuration);
        var metrics = node.Services.GetRequiredService<TlsMetrics>();

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            var garbage = new byte[512];
            new Random(7).NextBytes(garbage);
            garbage[0] = 0x16; // A handshake record type, so OpenSSL parses further before it rejects the bytes.
            await socket.SendAsync(garbage, TestContext.Current.CancellationToken);

            // The node sends an alert or just closes, and either way the read ends.
            var buffer = new byte[1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }
        }

        var after = await OpenSslClient.RunAsync(port, "-tls1_3", sessionIn: null, sessionOut: null);

        Assert.Equal(1, metrics.GetFailures(TlsHandshakeFailureReason.ProtocolError));
        Assert.Contains("HTTP/1.1 ", after, StringComparison.Ordinal);
        Assert.Equal(1, metrics.FullHandshakes);
    }

    [Fact]
    public async Task SilentClient_TimesOutAndIsCounted()
    {
        var redis = RequireRedis();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (node, port) = await StartNodeAsync(redis.Configuration, clock);
        var metrics = node.Services.GetRequiredService<TlsMetrics>();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);

        // The handshake timer starts once Kestrel has accepted the connection, which the test cannot observe, so it
        // moves the clock past the timeout again until the node closes the connection, at most 50 times.
        var closed = false;
        var buffer = new byte[64];
        for (var attempt = 0; attempt < 50 && !closed; attempt++)
        {
            clock.Advance(OpenSslTlsMiddleware.HandshakeTimeout);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            try
            {
                closed = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token) == 0;
            }
            catch (OperationCanceledException)
            {
                // Still open: advance again.
            }
        }

        Assert.True(closed, "the node kept a connection without a ClientHello open");
        Assert.Equal(1, metrics.GetFailures(TlsHandshakeFailureReason.Timeout));
    }

    private RedisServer RequireRedis()
    {
        if (RedisServer.GetSkipReason() is { } redisReason)
        {
            Assert.Skip(redisReason);
        }

        if (OpenSslClient.GetSkipReason() is { } openSslReason)
        {
            Assert.Skip(openSslReason);
        }

        return _redis ?? throw new InvalidOperationException("redis-server was not started.");
    }

    private async Task<(WebApplication Node, int Port)> StartNodeAsync(string redis, TimeProvider? clock = null)
    {
        var port = RedisServer.GetFreePort();
        var configuration = new NodeConfiguration(_certificate, port)
            .Set("Proxy:TlsEngine", "OpenSsl")
            .Set("Proxy:TicketKeyRotationSeconds", "3600")
            .Set("Proxy:TicketKeyOverlap", "1")
            .Set("SessionStore:Redis", redis)
            .Set("SessionStore:KeyPrefix", _keyPrefix);
        var node = await NodeApplication.CreateAsync(
            configuration.AddTo,
            new NodeApplicationOptions { TimeProvider = clock ?? TimeProvider.System });
        _nodes.Add(node);
        await node.StartAsync(TestContext.Current.CancellationToken);
        return (node, port);
    }

    private HttpClient CreateClient() => new(new SocketsHttpHandler
    {
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
