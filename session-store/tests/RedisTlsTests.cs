using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tandem.SessionStore.Tests;

/// <summary>
/// The affinity store against a redis-server that accepts only TLS, with a certificate authority and a server
/// certificate that the test creates and deletes again.
/// </summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private const string ServerName = "redis.tandem.test";
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(120);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"tandem-redis-tls-{Guid.NewGuid():N}");
    private RedisServer? _server;

    private string CaFile => Path.Combine(_directory, "ca.pem");

    private string OtherCaFile => Path.Combine(_directory, "other-ca.pem");

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.GetSkipReason() is not null)
        {
            return;
        }

        Directory.CreateDirectory(_directory);
        using var ca = CreateCertificateAuthority("Tandem test Redis CA");
        using var otherCa = CreateCertificateAuthority("Tandem test other CA");
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var serverCertificate = CreateServerCertificate(ca, serverKey);

        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(OtherCaFile, otherCa.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.pem"), serverCertificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());

        _server = await RedisServer.StartTlsAsync(
            RedisServer.GetFreePort(),
            Path.Combine(_directory, "server.pem"),
            Path.Combine(_directory, "server.key"),
            CaFile);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task TrustedCa_StoresPins()
    {
        var server = RequireServer();
        await using var store = await ConnectAsync($"{server.Configuration},ssl=true,sslHost={ServerName}", CaFile);
        var sessionId = Guid.NewGuid().ToString("N");

        var write = await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);

        Assert.True(store.IsConnected);
        Assert.Equal(AffinityWriteStatus.Stored, write);
        Assert.Equal("b1", lookup.DestinationId);
    }

    [Fact]
    public async Task OtherCa_NotConnected()
    {
        var server = RequireServer();
        await using var store = await ConnectAsync($"{server.Configuration},ssl=true,sslHost={ServerName}", OtherCaFile);

        var lookup = await store.GetAsync("backends", "session", TestContext.Current.CancellationToken);

        Assert.False(store.IsConnected);
        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
    }

    [Fact]
    public async Task WrongHostName_NotConnected()
    {
        var server = RequireServer();
        await using var store = await ConnectAsync($"{server.Configuration},ssl=true,sslHost=other.tandem.test", CaFile);

        var lookup = await store.GetAsync("backends", "session", TestContext.Current.CancellationToken);

        Assert.False(store.IsConnected);
        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
    }

    [Fact]
    public async Task PlainTextClient_NotConnected()
    {
        var server = RequireServer();
        await using var store = await ConnectAsync(server.Configuration, caFile: "");

        Assert.False(store.IsConnected);
    }

    [Fact]
    public void ValidateTls_ReportsEveryProblem()
    {
        var missing = Path.Combine(_directory, "missing.pem");
        var errors = new List<string>();

        new SessionStoreOptions { Redis = "198.51.100.20:6379", RedisCaFile = missing }.ValidateTls(errors);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, error => error.Contains("ssl=true", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.Contains(missing, StringComparison.Ordinal) && error.Contains("not found", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateTls_RejectsFileWithoutCertificate()
    {
        Directory.CreateDirectory(_directory);
        var notCertificate = Path.Combine(_directory, "not-a-certificate.pem");
        File.WriteAllText(notCertificate, "not a certificate");
        var errors = new List<string>();

        new SessionStoreOptions { Redis = "198.51.100.20:6379,ssl=true", RedisCaFile = notCertificate }.ValidateTls(errors);

        var error = Assert.Single(errors);
        Assert.Contains("is not a valid certificate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateTls_EmptyCaFile_NoErrors()
    {
        var errors = new List<string>();

        new SessionStoreOptions { Redis = "198.51.100.20:6379,ssl=true" }.ValidateTls(errors);

        Assert.Empty(errors);
    }

    private RedisServer RequireServer()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        return _server ?? throw new InvalidOperationException("The TLS Redis server did not start.");
    }

    private static Task<RedisAffinityStore> ConnectAsync(string configuration, string caFile) =>
        RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = configuration, RedisCaFile = caFile, ConnectTimeoutMilliseconds = 1000 },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            new SessionStoreMetrics(),
            TestContext.Current.CancellationToken);

    private static X509Certificate2 CreateCertificateAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    private static X509Certificate2 CreateServerCertificate(X509Certificate2 ca, ECDsa serverKey)
    {
        var request = new CertificateRequest($"CN={ServerName}", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(ServerName);
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return request.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);
    }
}
