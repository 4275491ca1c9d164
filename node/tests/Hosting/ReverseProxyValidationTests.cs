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

    [Fact]
    public async Task Validate_MisspelledDestinations_ReportsPath()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Remove("ReverseProxy:Clusters:backends:Destinations")
            .Set("ReverseProxy:Clusters:backends:Destinatons:b1:Address", "http://127.0.0.1:1/");

        var (errors, warnings) = await ValidateWithWarningsAsync(configuration);

        var error = Assert.Single(errors);
        Assert.StartsWith("ReverseProxy:Clusters:backends:Destinatons is not a setting of YARP's ClusterConfig.", error, StringComparison.Ordinal);
        Assert.Contains("Destinations", error, StringComparison.Ordinal);
        var warning = Assert.Single(warnings);
        Assert.StartsWith("ReverseProxy:Clusters:backends has no destinations", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ReverseProxy:Rutes:all:ClusterId", "ReverseProxy:Rutes is not a setting of ReverseProxy.")]
    [InlineData("ReverseProxy:Routes:all:Mach:Path", "ReverseProxy:Routes:all:Mach is not a setting of YARP's RouteConfig.")]
    [InlineData("ReverseProxy:Routes:all:Match:Pth", "ReverseProxy:Routes:all:Match:Pth is not a setting of YARP's RouteMatch.")]
    [InlineData("ReverseProxy:Routes:all:Match:Headers:0:Nme", "ReverseProxy:Routes:all:Match:Headers:0:Nme is not a setting of YARP's RouteHeader.")]
    [InlineData("ReverseProxy:Clusters:backends:Destinations:b1:Adress", "ReverseProxy:Clusters:backends:Destinations:b1:Adress is not a setting of YARP's DestinationConfig.")]
    [InlineData("ReverseProxy:Clusters:backends:SessionAffinity:Cookie:Pth", "ReverseProxy:Clusters:backends:SessionAffinity:Cookie:Pth is not a setting of YARP's SessionAffinityCookieConfig.")]
    [InlineData("ReverseProxy:Clusters:backends:HealthCheck:Active:Intervall", "ReverseProxy:Clusters:backends:HealthCheck:Active:Intervall is not a setting of YARP's ActiveHealthCheckConfig.")]
    [InlineData("ReverseProxy:Clusters:backends:HttpClient:MaxConnections", "ReverseProxy:Clusters:backends:HttpClient:MaxConnections is not a setting of YARP's HttpClientConfig.")]
    public async Task Validate_UnknownYarpKey_ReportsPath(string key, string expected)
    {
        var errors = await ValidateAsync(new NodeConfiguration(_certificate).Set(key, "1"));

        Assert.Contains(errors, error => error.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_MetadataAndTransforms_AreFreeForm()
    {
        var configuration = new NodeConfiguration(_certificate)
            .Set("ReverseProxy:Routes:all:Metadata:Owner", "team-a")
            .Set("ReverseProxy:Routes:all:Transforms:0:PathRemovePrefix", "/api")
            .Set("ReverseProxy:Clusters:backends:Metadata:Anything", "x")
            .Set("ReverseProxy:Clusters:backends:Destinations:b1:Metadata:Zone", "a");

        var (errors, warnings) = await ValidateWithWarningsAsync(configuration);

        Assert.Empty(errors);
        Assert.Empty(warnings);
    }

    private static async Task<List<string>> ValidateAsync(NodeConfiguration configuration) =>
        (await ValidateWithWarningsAsync(configuration)).Errors;

    private static async Task<(List<string> Errors, List<string> Warnings)> ValidateWithWarningsAsync(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        await ReverseProxyValidation.ValidateAsync(configuration.Build(), errors, warnings);
        return (errors, warnings);
    }
}
