using System.Net;
using Microsoft.AspNetCore.Http;
using Tandem.Node.Forwarding;
using Yarp.ReverseProxy.Transforms;

namespace Tandem.Node.Tests.Forwarding;

public sealed class TrustAwareForwardedTransformTests
{
    private static readonly TrustedProxyList TrustedProxies = new([IPNetwork.Parse("203.0.113.0/24")]);

    [Fact]
    public async Task Apply_UntrustedPeer_ReplacesForgedHeaders()
    {
        var context = CreateContext("198.51.100.50", new()
        {
            ["X-Forwarded-For"] = "198.51.100.23",
            ["X-Forwarded-Proto"] = "http",
            ["X-Forwarded-Host"] = "forged.example",
            ["X-Forwarded-Prefix"] = "/forged",
            ["X-Real-IP"] = "198.51.100.23",
            ["Forwarded"] = "for=198.51.100.23",
        });

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["198.51.100.50"], Header(context, "X-Forwarded-For"));
        Assert.Equal(["https"], Header(context, "X-Forwarded-Proto"));
        Assert.Equal(["www.example.test"], Header(context, "X-Forwarded-Host"));
        Assert.Empty(Header(context, "X-Forwarded-Prefix"));
        Assert.Equal(["198.51.100.50"], Header(context, "X-Real-IP"));
        Assert.Empty(Header(context, "Forwarded"));
    }

    [Fact]
    public async Task Apply_TrustedPeer_AppendsToIncomingHeaders()
    {
        var context = CreateContext("203.0.113.10", new()
        {
            ["X-Forwarded-For"] = "198.51.100.23",
            ["X-Forwarded-Proto"] = "https",
            ["X-Real-IP"] = "198.51.100.23",
            ["Forwarded"] = "for=198.51.100.23",
        });

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["198.51.100.23", "203.0.113.10"], SplitList(Header(context, "X-Forwarded-For")));
        Assert.Equal(["https", "https"], SplitList(Header(context, "X-Forwarded-Proto")));
        Assert.Equal(["198.51.100.23"], Header(context, "X-Real-IP"));
        Assert.Equal(["for=198.51.100.23"], Header(context, "Forwarded"));
    }

    [Fact]
    public async Task Apply_TrustedPeerWithoutHeaders_SetsPeerAddress()
    {
        var context = CreateContext("203.0.113.10", new());

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["203.0.113.10"], Header(context, "X-Forwarded-For"));
        Assert.Equal(["203.0.113.10"], Header(context, "X-Real-IP"));
    }

    [Theory]
    [InlineData("198.51.100.66", "198.51.100.66")]
    [InlineData("198.51.100.23, 198.51.100.66, 203.0.113.5", "198.51.100.66")]
    [InlineData("198.51.100.66:4711, 203.0.113.5", "198.51.100.66")]
    [InlineData("2001:db8::66, 203.0.113.5", "2001:db8::66")]
    [InlineData("[2001:db8::66]:4711", "2001:db8::66")]
    [InlineData("::ffff:198.51.100.66", "198.51.100.66")]
    [InlineData("203.0.113.7, 203.0.113.5", "203.0.113.7")]
    [InlineData("198.51.100.23, not-an-address, 203.0.113.5", "203.0.113.10")]
    [InlineData("not-an-address, 198.51.100.66", "198.51.100.66")]
    [InlineData("", "203.0.113.10")]
    public async Task Apply_TrustedPeerWithoutRealIp_UsesRightmostUntrusted(string forwardedFor, string expected)
    {
        var context = CreateContext("203.0.113.10", new() { ["X-Forwarded-For"] = forwardedFor });

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal([expected], Header(context, "X-Real-IP"));
    }

    [Fact]
    public async Task Apply_ForwardedForOnSeveralLines_WalksAllLines()
    {
        var context = CreateContext("203.0.113.10", new());
        context.HttpContext.Request.Headers["X-Forwarded-For"] = new(["198.51.100.66, 203.0.113.7", "203.0.113.5"]);

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["198.51.100.66"], Header(context, "X-Real-IP"));
    }

    [Fact]
    public async Task Apply_UntrustedPeerWithForwardedFor_UsesPeer()
    {
        var context = CreateContext("198.51.100.50", new() { ["X-Forwarded-For"] = "198.51.100.66" });

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["198.51.100.50"], Header(context, "X-Real-IP"));
    }

    [Fact]
    public async Task Apply_IPv4MappedPeer_TreatedAsIPv4()
    {
        var context = CreateContext("::ffff:203.0.113.10", new() { ["X-Real-IP"] = "198.51.100.23" });

        await new TrustAwareForwardedTransform(TrustedProxies).ApplyAsync(context);

        Assert.Equal(["198.51.100.23"], Header(context, "X-Real-IP"));
    }

    [Fact]
    public async Task Apply_EmptyTrustList_TrustsNobody()
    {
        var context = CreateContext("203.0.113.10", new() { ["X-Forwarded-For"] = "198.51.100.23" });

        await new TrustAwareForwardedTransform(TrustedProxyList.Empty).ApplyAsync(context);

        Assert.Equal(["203.0.113.10"], Header(context, "X-Forwarded-For"));
    }

    private static RequestTransformContext CreateContext(string peer, Dictionary<string, string> headers)
    {
        var httpContext = new DefaultHttpContext();
        httpContext.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        httpContext.Request.Scheme = "https";
        httpContext.Request.Host = new HostString("www.example.test");

        // YARP copies the client's headers to the outgoing request before it runs request transforms.
        var proxyRequest = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/");
        foreach (var (name, value) in headers)
        {
            httpContext.Request.Headers[name] = value;
            proxyRequest.Headers.TryAddWithoutValidation(name, value);
        }

        return new RequestTransformContext
        {
            HttpContext = httpContext,
            ProxyRequest = proxyRequest,
            Path = "/",
            HeadersCopied = true,
        };
    }

    private static string[] Header(RequestTransformContext context, string name) =>
        context.ProxyRequest.Headers.TryGetValues(name, out var values) ? values.ToArray() : [];

    private static string[] SplitList(string[] values) =>
        values.SelectMany(value => value.Split(',', StringSplitOptions.TrimEntries)).ToArray();
}
