using Tandem.Node.Forwarding;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Tandem.Node.Tests.Forwarding;

public sealed class ForwardedHeadersTransformProviderTests
{
    [Theory]
    [InlineData("X-Forwarded", "Append")]
    [InlineData("Forwarded", "by,for")]
    [InlineData("RequestHeader", "X-Real-IP")]
    [InlineData("RequestHeaderRemove", "X-Forwarded-For")]
    public void ValidateRoute_ForwardedTransform_IsRejected(string key, string value)
    {
        var context = CreateRouteContext(new Dictionary<string, string> { [key] = value });

        new ForwardedHeadersTransformProvider(TrustedProxyList.Empty).ValidateRoute(context);

        var error = Assert.Single(context.Errors);
        Assert.Contains("ReverseProxy:Routes:all:Transforms", error.Message, StringComparison.Ordinal);
        Assert.Contains("Proxy:TrustedProxies", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateRoute_OtherHeaderTransform_IsAccepted()
    {
        var context = CreateRouteContext(new Dictionary<string, string> { ["RequestHeader"] = "X-Tenant", ["Set"] = "a" });

        new ForwardedHeadersTransformProvider(TrustedProxyList.Empty).ValidateRoute(context);

        Assert.Empty(context.Errors);
    }

    [Fact]
    public void Apply_ReplacesDefaultForwarders()
    {
        var context = new TransformBuilderContext { Route = new RouteConfig { RouteId = "all" } };

        new ForwardedHeadersTransformProvider(TrustedProxyList.Empty).Apply(context);

        Assert.False(context.UseDefaultForwarders);
        Assert.IsType<TrustAwareForwardedTransform>(Assert.Single(context.RequestTransforms));
    }

    private static TransformRouteValidationContext CreateRouteContext(Dictionary<string, string> transform) =>
        new()
        {
            Route = new RouteConfig { RouteId = "all", Transforms = [transform] },
        };
}
