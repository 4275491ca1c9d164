using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Configuration;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Configuration;

public sealed class NodeSettingsLoaderTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public void Load_ValidSingleNode_ReturnsSettings()
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate));

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal("node-test", settings.NodeName);
        Assert.Equal("127.0.0.1", settings.ListenAddress.ToString());
        Assert.Equal(8443, settings.Proxy.Port);
        Assert.False(settings.VrrpEnabled);
        Assert.False(settings.UsesRedis);
        Assert.Equal(_certificate.Certificate.Thumbprint, settings.Certificate.Certificate.Thumbprint);
    }

    [Fact]
    public void Load_ValidClusterNode_EnablesVrrpAndRedis()
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate).WithVrrp());

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.NotNull(settings.Vrrp);
        var router = Assert.Single(settings.Vrrp.Routers);
        Assert.Equal("default", router.Name);
        Assert.Equal(51, router.Options.VirtualRouterId);
        Assert.Equal(["198.51.100.100/24"], router.Options.VirtualAddresses);
        Assert.Empty(settings.Vrrp.SyncGroups);
        Assert.True(settings.UsesRedis);
    }

    [Fact]
    public void Load_EmptyInterface_TurnsVrrpOff()
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate).Set("Vrrp:Interface", ""));

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Null(settings.Vrrp);
    }

    [Fact]
    public void Load_VrrpSettingsWithoutInterface_ReportsIgnored()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("Vrrp:Interface", "")
            .Set("Vrrp:Priority", "300")
            .Set("Vrrp:VirtualAddresses:0", "198.51.100.100/24");

        var (settings, errors, _) = Load(configuration);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Interface is empty, so VRRP is off and Vrrp:Priority, Vrrp:VirtualAddresses would be ignored.", error, StringComparison.Ordinal);
        Assert.Contains("Set Vrrp:Interface", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyVrrpValuesWithoutInterface_NoError()
    {
        var configuration = new NodeConfiguration(_certificate).Set("Vrrp:Interface", "").Set("Vrrp:UnicastPeers", "");

        var (settings, errors, _) = Load(configuration);

        Assert.Empty(errors);
        Assert.NotNull(settings);
    }

    [Fact]
    public void Load_EmptyNodeName_UsesHostName()
    {
        var (settings, _, _) = Load(new NodeConfiguration(_certificate).Set("Node:Name", ""));

        Assert.Equal(Environment.MachineName, settings?.NodeName);
    }

    [Theory]
    [InlineData("Proxy:Port", "0", "Proxy:Port: 0 is out of range")]
    [InlineData("Proxy:Port", "65536", "Proxy:Port: 65536 is out of range")]
    [InlineData("Proxy:Port", "https", "Proxy:Port: 'https' is not a valid whole number")]
    [InlineData("Proxy:Address", "node-a.example", "Proxy:Address: 'node-a.example' is not an IP address")]
    [InlineData("Proxy:TrustedProxies:0", "203.0.113.0/33", "Proxy:TrustedProxies:0: '203.0.113.0/33' is not a network in CIDR notation")]
    [InlineData("Proxy:TrustedProxies:0", "proxy-1", "Proxy:TrustedProxies:0: 'proxy-1' is not a network in CIDR notation")]
    [InlineData("Proxy:TrustedProxies:0", "203.0.113.5/24", "Write 203.0.113.0/24 for the network or 203.0.113.5 for the address")]
    [InlineData("Proxy:Prot", "443", "Proxy:Prot is not a setting of Proxy")]
    [InlineData("SessionStore:AffinityTtlSeconds", "0", "SessionStore:AffinityTtlSeconds: 0 is out of range")]
    [InlineData("SessionStore:OperationTimeoutMilliseconds", "0", "SessionStore:OperationTimeoutMilliseconds: 0 is out of range")]
    [InlineData("SessionStore:OperationTimeoutMilliseconds", "60000", "SessionStore:OperationTimeoutMilliseconds: 60000 is out of range")]
    [InlineData("SessionStore:ConnectTimeoutMilliseconds", "-1", "SessionStore:ConnectTimeoutMilliseconds: -1 is out of range")]
    [InlineData("SessionStore:Redis", "password=only", "SessionStore:Redis names no Redis endpoint")]
    [InlineData("SessionStore:Redis", "198.51.100.20:6379,bogusOption=1", "SessionStore:Redis: the configuration string is invalid")]
    public void Load_InvalidSetting_ReportsSettingValueAndFix(string key, string value, string expected)
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate).Set(key, value));

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    // The VRRP library words these messages. The node must pass each one through, naming setting and value.
    [Theory]
    [InlineData("Vrrp:VirtualRouterId", "0", "0 is out of range")]
    [InlineData("Vrrp:VirtualRouterId", "256", "256 is out of range")]
    [InlineData("Vrrp:Priority", "0", "0 is out of range")]
    [InlineData("Vrrp:Priority", "256", "256 is out of range")]
    [InlineData("Vrrp:AdvertisementIntervalCentiseconds", "0", "0 is out of range")]
    [InlineData("Vrrp:AdvertisementIntervalCentiseconds", "4096", "4096 is out of range")]
    [InlineData("Vrrp:VirtualAddresses:0", "198.51.100.100", "the prefix length is missing")]
    [InlineData("Vrrp:VirtualAddresses:0", "198.51.100.300/24", "'198.51.100.300/24'")]
    [InlineData("Vrrp:VirtualAddresses:0", "2001:db8::100/64", "'2001:db8::100/64' is the first IPv6 virtual address but not a link-local one")]
    [InlineData("Vrrp:Interface", "a-very-long-interface-name", "'a-very-long-interface-name' is not a valid Linux interface name")]
    public void Load_InvalidVrrpSetting_ReportsSettingAndValue(string key, string value, string expected)
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate).WithVrrp().Set(key, value));

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith(key, error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Vrrp:Preempt", "sometimes", "Vrrp:Preempt: 'sometimes' is not a valid boolean (true or false)")]
    [InlineData("Vrrp:Prority", "150", "Vrrp:Prority is not a setting of Vrrp")]
    [InlineData("SessionStore:Redis", "", "SessionStore:Redis is empty, but VRRP is on (Vrrp:Interface 'lo')")]
    public void Load_InvalidClusterSetting_ReportsSettingValueAndFix(string key, string value, string expected)
    {
        var (settings, errors, _) = Load(new NodeConfiguration(_certificate).WithVrrp().Set(key, value));

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingRedisCaFile_ReportsSettingAndFix()
    {
        var configuration = new NodeConfiguration(_certificate)
            .WithVrrp()
            .Set("SessionStore:Redis", "198.51.100.20:6379,ssl=true")
            .Set("SessionStore:RedisCaFile", "/nonexistent/redis-ca.pem");

        var (settings, errors, _) = Load(configuration);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith("SessionStore:RedisCaFile: '/nonexistent/redis-ca.pem' was not found.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OwnerPriority_IsAccepted()
    {
        var (_, errors, _) = Load(new NodeConfiguration(_certificate).WithVrrp().Set("Vrrp:Priority", "255"));

        Assert.Empty(errors);
    }

    [Fact]
    public void Load_NoVirtualAddresses_ReportsError()
    {
        var (_, errors, _) = Load(new NodeConfiguration(_certificate).WithVrrp().Remove("Vrrp:VirtualAddresses"));

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:VirtualAddresses is empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateVirtualAddress_ReportsError()
    {
        var configuration = new NodeConfiguration(_certificate).WithVrrp().Set("Vrrp:VirtualAddresses:1", "198.51.100.100/24");

        var (_, errors, _) = Load(configuration);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:VirtualAddresses:1 '198.51.100.100/24'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ManyErrors_CollectsEveryOne()
    {
        var configuration = new NodeConfiguration(_certificate)
            .WithVrrp()
            .Set("Proxy:Port", "0")
            .Set("Proxy:Address", "anywhere")
            .Set("Proxy:TrustedProxies:0", "not-a-network")
            .Set("Proxy:CertificatePath", "/nonexistent/tls.crt")
            .Set("Vrrp:VirtualRouterId", "0")
            .Set("Vrrp:Priority", "0")
            .Set("Vrrp:AdvertisementIntervalCentiseconds", "5000")
            .Set("Vrrp:VirtualAddresses:0", "198.51.100.100")
            .Set("SessionStore:Redis", "");

        var (settings, errors, _) = Load(configuration);

        Assert.Null(settings);
        string[] keys =
        [
            "Proxy:Port:", "Proxy:Address:", "Proxy:TrustedProxies:0:", "Proxy:CertificatePath:",
            "Vrrp:VirtualRouterId ", "Vrrp:Priority ", "Vrrp:AdvertisementIntervalCentiseconds ",
            "Vrrp:VirtualAddresses:0 ", "SessionStore:Redis is empty",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(errors, error => error.StartsWith(key, StringComparison.Ordinal));
        }

        Assert.Equal(keys.Length, errors.Count);
    }

    [Fact]
    public void Load_MissingCertificateFile_NamesSettingAndPath()
    {
        var (_, errors, _) = Load(new NodeConfiguration(_certificate).Set("Proxy:CertificatePath", "/nonexistent/tls.crt"));

        var error = Assert.Single(errors);
        Assert.Contains("Proxy:CertificatePath", error, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/tls.crt", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyKeyPath_ReportsMissing()
    {
        var (_, errors, _) = Load(new NodeConfiguration(_certificate).Set("Proxy:KeyPath", ""));

        var error = Assert.Single(errors);
        Assert.StartsWith("Proxy:KeyPath is missing.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MismatchedKey_NamesKeyPath()
    {
        _certificate.ReplaceKeyWithUnrelatedOne();

        var (_, errors, _) = Load(new NodeConfiguration(_certificate));

        var error = Assert.Single(errors);
        Assert.StartsWith("Proxy:KeyPath: the key in", error, StringComparison.Ordinal);
        Assert.Contains("Give the unencrypted PEM private key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CertificateFileWithoutPem_ReportsError()
    {
        File.WriteAllText(_certificate.CertificatePath, "not a certificate");

        var (_, errors, _) = Load(new NodeConfiguration(_certificate));

        var error = Assert.Single(errors);
        Assert.StartsWith("Proxy:CertificatePath:", error, StringComparison.Ordinal);
        Assert.Contains("contains no PEM certificate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ClientOnlyCertificate_ReportsError()
    {
        using var clientCertificate = TestCertificate.Create(serverAuthentication: false);

        var (_, errors, _) = Load(new NodeConfiguration(clientCertificate));

        var error = Assert.Single(errors);
        Assert.Contains("without Server Authentication", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ExpiredCertificate_WarnsButLoads()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(30));

        var (settings, errors, warnings) = Load(new NodeConfiguration(_certificate), clock);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        var warning = Assert.Single(warnings);
        Assert.Contains("expired", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidRedisString_DoesNotEchoPassword()
    {
        var configuration = new NodeConfiguration(_certificate).Set("SessionStore:Redis", "198.51.100.20:6379,password=hunter2,bogus=1");

        var (_, errors, _) = Load(configuration);

        var error = Assert.Single(errors);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TrustedProxies_AcceptsNetworksAndSingleAddresses()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("Proxy:TrustedProxies:0", "203.0.113.0/24")
            .Set("Proxy:TrustedProxies:1", "198.51.100.7")
            .Set("Proxy:TrustedProxies:2", "2001:db8::/32");

        var (settings, errors, _) = Load(configuration);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(3, settings.TrustedProxies.Networks.Count);
        Assert.Equal("198.51.100.7/32", settings.TrustedProxies.Networks[1].ToString());
    }

    private static (NodeSettings? Settings, List<string> Errors, List<string> Warnings) Load(
        NodeConfiguration configuration,
        TimeProvider? timeProvider = null)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        var settings = NodeSettingsLoader.Load(configuration.Build(), timeProvider ?? TimeProvider.System, errors, warnings);
        return (settings, errors, warnings);
    }
}
