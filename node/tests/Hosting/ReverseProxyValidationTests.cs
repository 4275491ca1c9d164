using Tandem.Node.Hosting;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Hosting;

public sealed class ReverseProxyValidationTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public async Task Validate_ValidSection_NoErrors()
    {
        var errors = await ValidateAsync(new NodeConfiguration(_certificate));

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Validate_NoRoutesOrClusters_ReportsBoth()
    {
        var errors = await ValidateAsync(new NodeConfiguration(_certificate).Remove("ReverseProxy"));

        Assert.Contains(errors, error => error.StartsWith("ReverseProxy:Routes is empty.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("ReverseProxy:Clusters is empty.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_UnknownAffinityPolicy_ReportsYarpError()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("ReverseProxy:Clusters:backends:SessionAffinity:Policy", "NoSuchPolicy");

        var errors = await ValidateAsync(configuration);

        Assert.Contains(errors, error =>
            error.StartsWith("ReverseProxy:Clusters:backends:", StringComparison.Ordinal)
            && error.Contains("NoSuchPolicy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_ForwardedTransformOnRoute_IsRejected()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("ReverseProxy:Routes:all:Transforms:0:X-Forwarded", "Append");

        var errors = await ValidateAsync(configuration);

        var error = Assert.Single(errors);
        Assert.Contains("Proxy:TrustedProxies", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_RouteWithoutMatch_ReportsRoute()
    {
        var errors = await ValidateAsync(new NodeConfiguration(_certificate).Remove("ReverseProxy:Routes:all:Match"));

        Assert.Contains(errors, error => error.StartsWith("ReverseProxy:Routes:all:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_UnreadableValue_ReportsSection()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("ReverseProxy:Clusters:backends:SessionAffinity:Enabled", "maybe");

        var errors = await ValidateAsync(configuration);

        var error = Assert.Single(errors);
        Assert.StartsWith("ReverseProxy: the section cannot be read", error, StringComparison.Ordinal);
    }

    private static async Task<List<string>> ValidateAsync(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        await ReverseProxyValidation.ValidateAsync(configuration.Build(), errors);
        return errors;
    }
}
