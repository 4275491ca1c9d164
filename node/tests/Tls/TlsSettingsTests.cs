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

    [Fact]
    public void Certificates_ListAddsSniCertificatesAfterDefault()
    {
        using var www = TestCertificate.Create("CN=www", dnsNames: ["www.example.test"]);
        var configuration = new NodeConfiguration(_certificate)
            .Set("Proxy:Certificates:0:CertificatePath", www.CertificatePath)
            .Set("Proxy:Certificates:0:KeyPath", www.KeyPath);

        var (settings, errors) = Load(configuration);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(["CN=tandem-test", "CN=www"], settings.Certificates.Certificates.Select(c => c.Certificate.Subject));
        Assert.Equal("CN=tandem-test", settings.Certificate.Certificate.Subject);
    }

    [Fact]
    public void Certificates_ListAloneNeedsNoSingleCertificate()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Remove("Proxy:CertificatePath")
            .Remove("Proxy:KeyPath")
            .Set("Proxy:Certificates:0:CertificatePath", _certificate.CertificatePath)
            .Set("Proxy:Certificates:0:KeyPath", _certificate.KeyPath);

        var (settings, errors) = Load(configuration);

        Assert.Empty(errors);
        Assert.Equal("Proxy:Certificates:0", settings?.Certificate.Setting);
    }

    [Fact]
    public void Certificates_EntryErrorsNameTheEntry()
    {
        using var mismatched = TestCertificate.Create("CN=mismatched");
        mismatched.ReplaceKeyWithUnrelatedOne();
        var configuration = new NodeConfiguration(_certificate)
            .Set("Proxy:Certificates:0:CertificatePath", mismatched.CertificatePath)
            .Set("Proxy:Certificates:0:KeyPath", mismatched.KeyPath)
            .Set("Proxy:Certificates:1:CertificatePath", "/nonexistent/tls.crt")
            .Set("Proxy:Certificates:1:KeyPath", mismatched.KeyPath)
            .Set("Proxy:Certificates:2:Key", "x");

        var (settings, errors) = Load(configuration);

        Assert.Null(settings);
        Assert.Contains(errors, error => error.StartsWith("Proxy:Certificates:0:KeyPath: the key in ", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.EndsWith(
            "of the server certificate, the first one in the file that Proxy:Certificates:0:CertificatePath names.",
            StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Proxy:Certificates:1:CertificatePath: directory of '/nonexistent/tls.crt' was not found.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Proxy:Certificates:2:Key is not a setting of Proxy:Certificates:2.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Proxy:Certificates:2:CertificatePath is missing.", StringComparison.Ordinal));
    }

    [Fact]
    public void KeyPath_Directory_SaysDirectory()
    {
        var directory = Path.GetDirectoryName(_certificate.KeyPath)!;
        var configuration = new NodeConfiguration(_certificate).Set("Proxy:KeyPath", directory);

        var (settings, errors) = Load(configuration);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.Equal($"Proxy:KeyPath: '{directory}' is a directory. Set the path of the PEM private key file.", error);
    }

    private static (NodeSettings? Settings, List<string> Errors) Load(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        var settings = NodeSettingsLoader.Load(configuration.Build(), new FakeTimeProvider(DateTimeOffset.UtcNow), errors, []);
        return (settings, errors);
    }
}
