using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Diagnostics;

namespace Tandem.Vrrp.Tests.Diagnostics;

public sealed class LogRateLimiterTests
{
    [Fact]
    public void ShouldLog_OncePerKeyAndInterval()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter<string>(time, TimeSpan.FromMinutes(1));

        Assert.True(limiter.ShouldLog("a", out var suppressed));
        Assert.Equal(0, suppressed);
        Assert.True(limiter.ShouldLog("b", out _));
        Assert.False(limiter.ShouldLog("a", out _));
        Assert.False(limiter.ShouldLog("a", out _));

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(limiter.ShouldLog("a", out _));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.ShouldLog("a", out suppressed));
        Assert.Equal(3, suppressed);
    }
}
