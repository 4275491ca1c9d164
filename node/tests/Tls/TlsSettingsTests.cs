using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Configuration;
using Tandem.Node.Tests.Support;
using Tandem.Node.Tls;

namespace Tandem.Node.Tests.Tls;

public sealed class TlsSettingsTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public void Defaults_OpenSslWithTwelveHourKeys()
    {
        var (settings, errors) = Load(new NodeConfiguration(_certificate));

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(TlsEngine.OpenSsl, settings.TlsEngine);
        var options = TicketKeyRingService.CreateOptions(settings.Proxy);
        Assert.Equal(TimeSpan.FromHours(12), options.RotationInterval);
        Assert.Equal(2, options.Overlap);
        Assert.Equal(TimeSpan.FromHours(24), options.TicketLifetime);
    }

    [Theory]
    [InlineData("SslStream", TlsEngine.SslStream)]
    [InlineData("openssl", TlsEngine.OpenSsl)]
    public void TlsEngine_NameIsCaseInsensitive(string value, TlsEngine expected)
    {
        var (settings, errors) = Load(new NodeConfiguration(_certificate).Set("Proxy:TlsEngine", value));

        Assert.Empty(errors);
        Assert.Equal(expected, settings?.TlsEngine);
    }

    [Fact]
    public void InvalidValues_AllReportedWithSetting()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("Proxy:TlsEngine", "GnuTls")
            .Set("Proxy:TicketKeyRotationSeconds", "59")
            .Set("Proxy:TicketKeyOverlap", "0");

        var (settings, errors) = Load(configuration);

        Assert.Null(settings);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, error => error.StartsWith("Proxy:TlsEngine: 'GnuTls' is not a TLS engine.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Proxy:TicketKeyRotationSeconds: 59 is out of range.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Proxy:TicketKeyOverlap: 0 is out of range.", StringComparison.Ordinal));
    }

    private static (NodeSettings? Settings, List<string> Errors) Load(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        var settings = NodeSettingsLoader.Load(configuration.Build(), new FakeTimeProvider(DateTimeOffset.UtcNow), errors, []);
        return (settings, errors);
    }
}
