using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Tests.Support;
using Tandem.Node.Tls;

namespace Tandem.Node.Tests.Tls;

public sealed class ServerCertificateSelectorTests : IDisposable
{
    private readonly TestCertificate _default = TestCertificate.Create("CN=default", dnsNames: ["default.example.test"]);
    private readonly TestCertificate _www = TestCertificate.Create("CN=www", dnsNames: ["www.example.test", "api.example.test"]);
    private readonly TestCertificate _wildcard = TestCertificate.Create("CN=wildcard", dnsNames: ["*.example.test"]);

    public void Dispose()
    {
        _default.Dispose();
        _www.Dispose();
        _wildcard.Dispose();
    }

    [Theory]
    [InlineData("www.example.test", 1)]
    [InlineData("API.Example.Test", 1)]
    [InlineData("www.example.test.", 1)]
    [InlineData("shop.example.test", 2)]
    [InlineData("default.example.test", 0)]
    [InlineData("a.shop.example.test", 0)]
    [InlineData("example.test", 0)]
    [InlineData("other.test", 0)]
    [InlineData("", 0)]
    [InlineData(null, 0)]
    public void SelectIndex_ByServerName(string? serverName, int expected)
    {
        var selector = Create([], _default, _www, _wildcard);

        Assert.Equal(expected, selector.SelectIndex(serverName));
    }

    [Fact]
    public void ExactName_WinsOverEarlierWildcard()
    {
        var selector = Create([], _wildcard, _www);

        Assert.Equal(1, selector.SelectIndex("www.example.test"));
        Assert.Equal(0, selector.SelectIndex("mail.example.test"));
    }

    [Fact]
    public void DuplicateName_FirstServesAndWarns()
    {
        using var renewed = TestCertificate.Create("CN=www-renewed", dnsNames: ["www.example.test"]);
        var warnings = new List<string>();

        var selector = Create(warnings, _default, _www, renewed);

        Assert.Equal(1, selector.SelectIndex("www.example.test"));
        var warning = Assert.Single(warnings);
        Assert.StartsWith("Proxy:Certificates:2: the DNS name 'www.example.test' of 'CN=www-renewed' is also in 'CN=www' (Proxy:Certificates:1)", warning, StringComparison.Ordinal);
    }

    private static ServerCertificateSelector Create(List<string> warnings, params TestCertificate[] certificates)
    {
        var errors = new List<string>();
        var loaded = certificates
            .Select((certificate, index) => ServerCertificate.Load(
                $"Proxy:Certificates:{index}",
                certificate.CertificatePath,
                certificate.KeyPath,
                new FakeTimeProvider(DateTimeOffset.UtcNow),
                errors,
                warnings)!)
            .ToList();
        Assert.Empty(errors);
        return new ServerCertificateSelector(loaded, warnings);
    }
}
