using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.SessionAffinity;
using Yarp.ReverseProxy.Configuration;

namespace Tandem.Node.Tests.SessionAffinity;

public sealed class AffinityCookieOptionsTests
{
    [Fact]
    public void Create_NoCookieConfig_UsesSafeDefaults()
    {
        var options = AffinityCookieOptions.Create(null, isHttps: true, new FakeTimeProvider());

        Assert.True(options.Secure);
        Assert.True(options.HttpOnly);
        Assert.Equal(SameSiteMode.Lax, options.SameSite);
        Assert.Equal("/", options.Path);
        Assert.Null(options.Expires);
        Assert.Null(options.MaxAge);
    }

    [Fact]
    public void Create_CookieConfig_OverridesDefaults()
    {
        var clock = new FakeTimeProvider();
        var config = new SessionAffinityCookieConfig
        {
            Path = "/app",
            Domain = "www.example.test",
            HttpOnly = false,
            SecurePolicy = CookieSecurePolicy.SameAsRequest,
            SameSite = SameSiteMode.Strict,
            Expiration = TimeSpan.FromHours(2),
        };

        var options = AffinityCookieOptions.Create(config, isHttps: false, clock);

        Assert.False(options.Secure);
        Assert.False(options.HttpOnly);
        Assert.Equal(SameSiteMode.Strict, options.SameSite);
        Assert.Equal("/app", options.Path);
        Assert.Equal("www.example.test", options.Domain);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromHours(2), options.Expires);
    }
}
