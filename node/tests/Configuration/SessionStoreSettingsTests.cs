using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Configuration;
using Tandem.Node.Hosting;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Configuration;

/// <summary>The unhealthy-pin policy setting and the checks of the ClusterCookie cookie attributes.</summary>
public sealed class SessionStoreSettingsTests : IDisposable
{
    private const string CookiePrefix = "ReverseProxy:Clusters:backends:SessionAffinity:Cookie";

    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Theory]
    [InlineData(null, UnhealthyPinPolicy.Repin)]
    [InlineData("fail", UnhealthyPinPolicy.Fail)]
    [InlineData("Repin", UnhealthyPinPolicy.Repin)]
    public void UnhealthyPinPolicy_Parsed(string? value, UnhealthyPinPolicy expected)
    {
        var configuration = new NodeConfiguration(_certificate);
        if (value is not null)
        {
            configuration.Set("SessionStore:UnhealthyPinPolicy", value);
        }

        var (settings, errors) = Load(configuration);

        Assert.Empty(errors);
        Assert.Equal(expected, settings?.UnhealthyPinPolicy);
    }

    [Theory]
    [InlineData("Redistribute")]
    [InlineData("2")]
    public void UnhealthyPinPolicy_Unknown_Reported(string value)
    {
        var (settings, errors) = Load(new NodeConfiguration(_certificate).Set("SessionStore:UnhealthyPinPolicy", value));

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith($"SessionStore:UnhealthyPinPolicy: '{value}' is not a policy.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookieAttributes_Valid_NoErrors()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set($"{CookiePrefix}:SameSite", "None")
            .Set($"{CookiePrefix}:SecurePolicy", "Always")
            .Set($"{CookiePrefix}:Expiration", "01:00:00")
            .Set($"{CookiePrefix}:Path", "/app");

        var errors = await ValidateReverseProxyAsync(configuration);

        Assert.Empty(errors);
    }

    [Fact]
    public async Task CookieAttributes_Invalid_EachReported()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set($"{CookiePrefix}:SameSite", "None")
            .Set($"{CookiePrefix}:SecurePolicy", "None")
            .Set($"{CookiePrefix}:Expiration", "-00:00:01")
            .Set($"{CookiePrefix}:MaxAge", "00:00:00")
            .Set($"{CookiePrefix}:Path", "app");

        var errors = await ValidateReverseProxyAsync(configuration);

        Assert.True(errors.Count == 4, string.Join(Environment.NewLine, errors));
        Assert.Contains(errors, error => error.StartsWith($"{CookiePrefix}:SameSite: None requires the Secure attribute", StringComparison.Ordinal));
        Assert.Contains("ReverseProxy:Clusters:backends: Session affinity cookie expiration must be positive or null.", errors);
        Assert.Contains("ReverseProxy:Clusters:backends: Session affinity cookie max-age must be positive or null.", errors);
        Assert.Contains(errors, error => error.StartsWith($"{CookiePrefix}:Path: 'app' does not start with '/'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CookieAttributes_OtherPolicy_NotChecked()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("ReverseProxy:Clusters:backends:SessionAffinity:Policy", "HashCookie")
            .Set($"{CookiePrefix}:Path", "app");

        var errors = await ValidateReverseProxyAsync(configuration);

        Assert.Empty(errors);
    }

    private static (NodeSettings? Settings, List<string> Errors) Load(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        var settings = NodeSettingsLoader.Load(configuration.Build(), new FakeTimeProvider(DateTimeOffset.UtcNow), errors, []);
        return (settings, errors);
    }

    private static async Task<List<string>> ValidateReverseProxyAsync(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        await ReverseProxyValidation.ValidateAsync(configuration.Build(), errors, []);
        return errors;
    }
}
