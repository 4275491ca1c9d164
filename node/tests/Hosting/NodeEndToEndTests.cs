using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Tandem.Node.Hosting;
using Tandem.Node.Logging;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Hosting;

/// <summary>
/// Runs the node in process on 127.0.0.1 with a throwaway certificate, in front of two backends on 127.0.0.1, with
/// VRRP off and the in-process affinity store.
/// </summary>
public sealed class NodeEndToEndTests : IAsyncLifetime
{
    private const string CookieName = "Tandem.Affinity";

    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly FakeLogCollector _logs = new();
    private TestBackend _backend1 = null!;
    private TestBackend _backend2 = null!;
    private readonly TestNodes _nodes = new();
    private HttpClient _client = null!;
    private int _port;
    private SslPolicyErrors? _certificateErrors;
    private string? _serverThumbprint;

    public async ValueTask InitializeAsync()
    {
        _backend1 = await TestBackend.StartAsync("b1");
        _backend2 = await TestBackend.StartAsync("b2");
        _port = RedisServer.GetFreePort();

        _client = TestHttp.CreateClient(_certificate, handler =>
        {
            // Lets tests send and read header values outside ASCII, as curl and browsers can.
            handler.RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8;
            handler.ResponseHeaderEncodingSelector = (_, _) => Encoding.UTF8;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                _certificateErrors = errors;
                _serverThumbprint = (certificate as X509Certificate2)?.Thumbprint;
                return errors == SslPolicyErrors.None;
            };
        });
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
    public async Task Https_ServesConfiguredCertificate()
    {
        await StartNodeAsync();

        using var response = await SendAsync(HttpVersion.Version11);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SslPolicyErrors.None, _certificateErrors);
        Assert.Equal(_certificate.Certificate.Thumbprint, _serverThumbprint);
    }

    [Fact]
    public async Task Http2_IsNegotiatedByAlpn()
    {
        await StartNodeAsync();

        using var http2 = await SendAsync(HttpVersion.Version20);
        using var http11 = await SendAsync(HttpVersion.Version11);

        Assert.Equal(HttpVersion.Version20, http2.Version);
        Assert.Equal(HttpStatusCode.OK, http2.StatusCode);
        Assert.Equal(HttpVersion.Version11, http11.Version);
        Assert.Equal(HttpStatusCode.OK, http11.StatusCode);
    }

    [Fact]
    public async Task Affinity_HoldsForTwentyRequests()
    {
        await StartNodeAsync();

        using var first = await SendAsync(HttpVersion.Version20);
        var cookie = ReadAffinityCookie(first);
        var pinnedBackend = (await ReadEchoAsync(first))["Name"];

        for (var i = 0; i < 20; i++)
        {
            using var response = await SendAsync(i % 2 == 0 ? HttpVersion.Version20 : HttpVersion.Version11, cookie);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(pinnedBackend, (await ReadEchoAsync(response))["Name"]);
            Assert.False(response.Headers.Contains("Set-Cookie"), $"Request {i} got a new affinity cookie.");
        }
    }

    [Fact]
    public async Task NewSessions_AreBalancedAcrossBackends()
    {
        await StartNodeAsync();
        var seen = new HashSet<string>();

        for (var i = 0; i < 4; i++)
        {
            using var response = await SendAsync(HttpVersion.Version11);
            ReadAffinityCookie(response);
            seen.Add((await ReadEchoAsync(response))["Name"]);
        }

        Assert.Equal(["b1", "b2"], seen.Order());
    }

    [Fact]
    public async Task GarbageCookie_GetsNewPin()
    {
        await StartNodeAsync();

        using var response = await SendAsync(HttpVersion.Version11, $"{CookieName}=%00garbage%ff");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(CookieName + "=", ReadAffinityCookie(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedHeaders_ArriveAtBackend()
    {
        await StartNodeAsync();

        using var response = await SendAsync(HttpVersion.Version20);
        var echo = await ReadEchoAsync(response);

        Assert.Equal("127.0.0.1", echo["X-Forwarded-For"]);
        Assert.Equal("https", echo["X-Forwarded-Proto"]);
        Assert.Equal("127.0.0.1", echo["X-Real-IP"]);
        Assert.Equal($"127.0.0.1:{_port}", echo["X-Forwarded-Host"]);
    }

    [Fact]
    public async Task ForwardedHeaders_FromUntrustedPeer_AreReplaced()
    {
        await StartNodeAsync();

        using var response = await SendAsync(HttpVersion.Version11, cookie: null, forgedClient: "198.51.100.23");
        var echo = await ReadEchoAsync(response);

        Assert.Equal("127.0.0.1", echo["X-Forwarded-For"]);
        Assert.Equal("127.0.0.1", echo["X-Real-IP"]);
        Assert.False(echo.ContainsKey("Forwarded"));
    }

    [Fact]
    public async Task ForwardedHeaders_FromTrustedPeer_AreKept()
    {
        await StartNodeAsync(configuration => configuration.Set("Proxy:TrustedProxies:0", "127.0.0.1"));

        using var response = await SendAsync(HttpVersion.Version11, cookie: null, forgedClient: "198.51.100.23");
        var echo = await ReadEchoAsync(response);

        Assert.Equal("198.51.100.23, 127.0.0.1", echo["X-Forwarded-For"]);
        Assert.Equal("198.51.100.23", echo["X-Real-IP"]);
        Assert.Equal("for=198.51.100.23", echo["Forwarded"]);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task NonAsciiHeader_ReachesBackendUnchanged(string version)
    {
        await StartNodeAsync();

        using var response = await SendAsync(Version.Parse(version), header: ("X-Test-Text", "café ü €"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("café ü €", (await ReadEchoAsync(response))["X-Test-Text"]);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task NonAsciiResponseHeader_ReachesClientUnchanged(string version)
    {
        await StartNodeAsync();

        using var response = await SendAsync(Version.Parse(version), header: ("X-Test-Text", "café ü €"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TryGetValues("X-Test-Text", out var values), "The response has no X-Test-Text header.");
        Assert.Equal("café ü €", Assert.Single(values));
    }

    [Fact]
    public async Task FailedForward_SetsNoAffinityCookie()
    {
        // Port 1 on loopback has no listener, so every forward fails and YARP generates the 502 itself.
        var configuration = new NodeConfiguration(_certificate, _port, "http://127.0.0.1:1/");
        await _nodes.StartAsync(configuration);

        using var response = await SendAsync(HttpVersion.Version11);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"), "A response generated by the proxy got an affinity cookie.");
    }

    [Fact]
    public async Task Startup_LogsVrrpOffAndSingleNodeStore()
    {
        await StartNodeAsync();

        Assert.Contains(_logs.GetSnapshot(), record => record.Id.Id == EventIds.VrrpDisabled && record.Level == LogLevel.Warning);
        Assert.Contains(_logs.GetSnapshot(), record => record.Id.Id == EventIds.InProcessStoreSelected && record.Level == LogLevel.Warning);
        Assert.Contains(_logs.GetSnapshot(), record => record.Id.Id == EventIds.NodeStarting);
    }

    private async Task StartNodeAsync(Action<NodeConfiguration>? configure = null)
    {
        var configuration = new NodeConfiguration(_certificate, _port, _backend1.Address, _backend2.Address);
        configure?.Invoke(configuration);

        await _nodes.StartAsync(
            configuration,
            new NodeApplicationOptions { ConfigureLogging = logging => logging.AddProvider(new FakeLoggerProvider(_logs)) });
    }

    private async Task<HttpResponseMessage> SendAsync(
        Version version,
        string? cookie = null,
        string? forgedClient = null,
        (string Name, string Value)? header = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{_port}/hello")
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        if (forgedClient is not null)
        {
            request.Headers.Add("X-Forwarded-For", forgedClient);
            request.Headers.Add("X-Real-IP", forgedClient);
            request.Headers.Add("Forwarded", $"for={forgedClient}");
        }

        if (header is { } extra)
        {
            request.Headers.Add(extra.Name, extra.Value);
        }

        return await _client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>Returns the <c>name=value</c> part of the affinity Set-Cookie header, checking its attributes.</summary>
    private static string ReadAffinityCookie(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Set-Cookie", out var values), "The response has no Set-Cookie header.");
        var setCookie = Assert.Single(values);
        Assert.StartsWith(CookieName + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<Dictionary<string, string>> ReadEchoAsync(HttpResponseMessage response) =>
        TestBackend.ParseEcho(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
}
