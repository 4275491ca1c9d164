using System.Net;
using Microsoft.Extensions.Configuration;
using Tandem.Node.Monitoring;

namespace Tandem.Node.Tests.Monitoring;

public sealed class ManagementSettingsTests
{
    [Fact]
    public void Defaults_LoopbackPort9901()
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(Build(), proxyPort: 443, errors);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(IPAddress.Loopback, settings.Address);
        Assert.Equal(9901, settings.Port);
        Assert.Equal(9902, settings.MetricsPort);
        Assert.True(settings.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(settings.IsAllowed(IPAddress.IPv6Loopback));
        Assert.False(settings.IsAllowed(IPAddress.Parse("198.51.100.23")));
    }

    [Fact]
    public void PortZero_TurnsListenerOff()
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(Build(("Management:Port", "0")), proxyPort: 443, errors);

        Assert.Empty(errors);
        Assert.Null(settings);
    }

    [Fact]
    public void AllowedNetworks_MatchesMappedIpv4()
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(Build(("Management:AllowedNetworks:0", "198.51.100.0/24")), 443, errors);

        Assert.NotNull(settings);
        Assert.True(settings.IsAllowed(IPAddress.Parse("::ffff:198.51.100.23")));
        Assert.False(settings.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.False(settings.IsAllowed(null));
    }

    [Fact]
    public void InvalidValues_AllReported()
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(
            Build(
                ("Management:Address", "localhost"),
                ("Management:Port", "70000"),
                ("Management:MetricsPort", "443"),
                ("Management:AllowedNetworks:0", "198.51.100.5/24"),
                ("Management:AllowedNetworks:1", "not-a-network")),
            proxyPort: 443,
            errors);

        Assert.Null(settings);
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Management:Address: 'localhost' is not an IP address.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Management:Port: 70000 is out of range.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Management:MetricsPort: 443 is also", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Write 198.51.100.0/24 for the network", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Management:AllowedNetworks:1: 'not-a-network'", StringComparison.Ordinal));
    }

    [Fact]
    public void SamePortAsProxy_Rejected()
    {
        var errors = new List<string>();

        ManagementSettings.Load(Build(("Management:Port", "8443")), proxyPort: 8443, errors);

        var error = Assert.Single(errors);
        Assert.StartsWith("Management:Port: 8443 is also Proxy:Port.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSetting_Rejected()
    {
        var errors = new List<string>();

        ManagementSettings.Load(Build(("Management:Prot", "9901")), proxyPort: 443, errors);

        var error = Assert.Single(errors);
        Assert.StartsWith("Management:Prot is not a setting of Management.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Heartbeat_DefaultsAndCertificateWarning()
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(Build(), proxyPort: 443, errors);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.HeartbeatTtl);
        Assert.Equal(14, settings.CertificateExpiryWarningDays);
    }

    [Theory]
    [InlineData("Management:HeartbeatIntervalMilliseconds", "50", "Management:HeartbeatIntervalMilliseconds: 50 is out of range")]
    [InlineData("Management:HeartbeatTtlMilliseconds", "1500", "Management:HeartbeatTtlMilliseconds: 1500 is out of range. Set milliseconds from twice Management:HeartbeatIntervalMilliseconds (2000)")]
    [InlineData("Management:CertificateExpiryWarningDays", "-1", "Management:CertificateExpiryWarningDays: -1 is out of range")]
    public void Heartbeat_OutOfRangeRejected(string key, string value, string expected)
    {
        var errors = new List<string>();

        var settings = ManagementSettings.Load(Build((key, value)), proxyPort: 443, errors);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Heartbeat_AllErrorsReported()
    {
        var errors = new List<string>();

        ManagementSettings.Load(
            Build(("Management:HeartbeatIntervalMilliseconds", "0"), ("Management:CertificateExpiryWarningDays", "4000")),
            proxyPort: 443,
            errors);

        Assert.Equal(2, errors.Count);
    }

    private static IConfiguration Build(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
}
