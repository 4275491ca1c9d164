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

    [Fact]
    public void TakeSuppressed_ReturnsAndResetsCounts()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter<string>(time, TimeSpan.FromMinutes(1));
        limiter.ShouldLog("a", out _);
        limiter.ShouldLog("a", out _);
        limiter.ShouldLog("a", out _);
        limiter.ShouldLog("b", out _);

        var suppressedCounts = limiter.TakeSuppressed();

        var entry = Assert.Single(suppressedCounts);
        Assert.Equal("a", entry.Key);
        Assert.Equal(2, entry.Value);
        Assert.Empty(limiter.TakeSuppressed());

        // The interval did not restart, and the next report counts nothing twice.
        Assert.False(limiter.ShouldLog("a", out _));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.ShouldLog("a", out var suppressed));
        Assert.Equal(1, suppressed);
    }
}
