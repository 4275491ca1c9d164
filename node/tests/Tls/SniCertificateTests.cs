using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Monitoring.V1;
using Tandem.Node.Hosting;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.Tls;

/// <summary>
/// Both TLS engines on 127.0.0.1 with three certificates: the default one from <c>Proxy:CertificatePath</c>, one for
/// <c>www.example.test</c> and a wildcard for <c>*.apps.example.test</c> from <c>Proxy:Certificates</c>. Without Redis
/// the ticket keys live in the process, which is enough to resume on the same node.
/// </summary>
public sealed class SniCertificateTests : IAsyncDisposable
{
    private readonly TestCertificate _default = TestCertificate.Create("CN=default");
    private readonly TestCertificate _www = TestCertificate.Create("CN=www", dnsNames: ["www.example.test"]);
    private readonly TestCertificate _apps = TestCertificate.Create("CN=apps", dnsNames: ["*.apps.example.test"]);
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-sni-").FullName;
    private readonly TestNodes _nodes = new();

    public async ValueTask DisposeAsync()
    {
        await _nodes.DisposeAsync();

        _default.Dispose();
        _www.Dispose();
        _apps.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("OpenSsl", "www.example.test", "CN=www")]
    [InlineData("OpenSsl", "shop.apps.example.test", "CN=apps")]
    [InlineData("OpenSsl", "a.shop.apps.example.test", "CN=default")]
    [InlineData("OpenSsl", "unknown.example.test", "CN=default")]
    [InlineData("OpenSsl", "127.0.0.1", "CN=default")]
    [InlineData("SslStream", "www.example.test", "CN=www")]
    [InlineData("SslStream", "shop.apps.example.test", "CN=apps")]
    [InlineData("SslStream", "unknown.example.test", "CN=default")]
    [InlineData("SslStream", "127.0.0.1", "CN=default")]
    public async Task Handshake_ServesCertificateForName(string engine, string targetHost, string expectedSubject)
    {
        var port = await StartNodeAsync(engine);

        // .NET sends no SNI for an IP address as target host, which is the "no server name" case.
        var (subject, protocol) = await HandshakeAsync(port, targetHost, SslProtocols.None);

        Assert.Equal(expectedSubject, subject);
        Assert.Equal(SslApplicationProtocol.Http2, protocol);
    }

    [Theory]
    [InlineData("OpenSsl", SslProtocols.Tls12)]
    [InlineData("OpenSsl", SslProtocols.Tls13)]
    [InlineData("SslStream", SslProtocols.Tls12)]
    public async Task SecondCertificate_NegotiatesH2(string engine, SslProtocols version)
    {
        var port = await StartNodeAsync(engine);

        var (subject, protocol) = await HandshakeAsync(port, "www.example.test", version);

        Assert.Equal("CN=www", subject);
        Assert.Equal(SslApplicationProtocol.Http2, protocol);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task Ticket_OfSecondCertificate_Resumes(string version)
    {
        if (OpenSslClient.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        var port = await StartNodeAsync("OpenSsl");
        var session = Path.Combine(_directory, $"www{version}.pem");

        var first = await OpenSslClient.RunAsync(port, version, sessionIn: null, sessionOut: session, serverName: "www.example.test");
        var second = await OpenSslClient.RunAsync(port, version, sessionIn: session, sessionOut: null, serverName: "www.example.test");

        Assert.Contains("subject=CN = www", first, StringComparison.Ordinal);
        Assert.False(OpenSslClient.IsReused(first), first);
        Assert.True(OpenSslClient.IsReused(second), second);
        Assert.Contains("HTTP/1.1 ", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ListsEveryCertificate()
    {
        await StartNodeAsync("OpenSsl");

        var status = _nodes[0].Services.GetRequiredService<NodeStatusCollector>().Collect();

        Assert.Equal("CN=default", status.Certificate.Subject);
        Assert.Equal(["CN=default", "CN=www", "CN=apps"], status.Certificates.Select(certificate => certificate.Subject));
        Assert.Equal(["*.apps.example.test"], status.Certificates[2].DnsNames);
    }

    [Fact]
    public async Task Expiry_EventPerCertificate()
    {
        using var soon = TestCertificate.Create("CN=soon", validDays: 10, dnsNames: ["soon.example.test"]);
        using var later = TestCertificate.Create("CN=later", validDays: 12, dnsNames: ["later.example.test"]);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var configuration = new NodeConfiguration(_default, RedisServer.GetFreePort())
            .Set("Management:Port", RedisServer.GetFreePort().ToString(CultureInfo.InvariantCulture))
            .Set("Management:CertificateExpiryWarningDays", "10")
            .Set("Proxy:Certificates:0:CertificatePath", soon.CertificatePath)
            .Set("Proxy:Certificates:0:KeyPath", soon.KeyPath)
            .Set("Proxy:Certificates:1:CertificatePath", later.CertificatePath)
            .Set("Proxy:Certificates:1:KeyPath", later.KeyPath);

        // Built but not started, so the test drives the hub's poll on the fake clock.
        await using var node = await NodeApplication.CreateAsync(configuration.AddTo, new NodeApplicationOptions { TimeProvider = clock });
        var hub = node.Services.GetRequiredService<NodeEventHub>();
        using var subscription = hub.Subscribe();
        hub.PollOnce();
        var first = ReadExpiringSubjects(subscription);
        hub.PollOnce();
        var repeated = ReadExpiringSubjects(subscription);
        clock.Advance(TimeSpan.FromDays(2));
        hub.PollOnce();
        var second = ReadExpiringSubjects(subscription);

        // The default certificate is valid for one day, so it is below the threshold from the start, as is "soon".
        Assert.Equal(["CN=default", "CN=soon"], first);
        Assert.Empty(repeated);
        Assert.Equal(["CN=default", "CN=soon", "CN=later"], second);
    }

    private static List<string> ReadExpiringSubjects(NodeEventHub.Subscription subscription)
    {
        var subjects = new List<string>();
        while (subscription.Reader.TryRead(out var nodeEvent))
        {
            if (nodeEvent.EventCase == NodeEvent.EventOneofCase.CertificateExpiring)
            {
                subjects.Add(nodeEvent.CertificateExpiring.Subject);
            }
        }

        return subjects;
    }

    private async Task<int> StartNodeAsync(string engine)
    {
        var port = RedisServer.GetFreePort();
        var configuration = new NodeConfiguration(_default, port)
            .Set("Proxy:TlsEngine", engine)
            .Set("Proxy:Certificates:0:CertificatePath", _www.CertificatePath)
            .Set("Proxy:Certificates:0:KeyPath", _www.KeyPath)
            .Set("Proxy:Certificates:1:CertificatePath", _apps.CertificatePath)
            .Set("Proxy:Certificates:1:KeyPath", _apps.KeyPath);
        await _nodes.StartAsync(configuration);
        return port;
    }

    private static async Task<(string Subject, SslApplicationProtocol Protocol)> HandshakeAsync(
        int port,
        string targetHost,
        SslProtocols version)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
        await using var tls = new SslStream(client.GetStream());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
                EnabledSslProtocols = version,
                ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],

                // The test checks which certificate arrives, not whether it is trusted.
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            },
            timeout.Token);

        var certificate = Assert.IsType<X509Certificate2>(tls.RemoteCertificate, exactMatch: false);
        return (certificate.Subject, tls.NegotiatedApplicationProtocol);
    }
}
