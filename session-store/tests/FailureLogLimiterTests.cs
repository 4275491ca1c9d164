using Microsoft.Extensions.Time.Testing;

namespace Tandem.SessionStore.Tests;

public sealed class FailureLogLimiterTests
{
    [Fact]
    public void TryEnter_RepeatWithinInterval_Suppressed()
    {
        var clock = new FakeTimeProvider();
        var limiter = new FailureLogLimiter<string>(clock, TimeSpan.FromSeconds(30));

        Assert.True(limiter.TryEnter("timeout", out var firstSuppressed));
        Assert.False(limiter.TryEnter("timeout", out _));
        Assert.False(limiter.TryEnter("timeout", out _));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(limiter.TryEnter("timeout", out var laterSuppressed));

        Assert.Equal(0, firstSuppressed);
        Assert.Equal(2, laterSuppressed);
    }

    [Fact]
    public void TryEnter_OtherKey_Passes()
    {
        var limiter = new FailureLogLimiter<string>(new FakeTimeProvider(), TimeSpan.FromSeconds(30));

        Assert.True(limiter.TryEnter("timeout", out _));
        Assert.True(limiter.TryEnter("connection", out _));
    }

    [Fact]
    public void Reset_LetsNextMessageThrough()
    {
        var limiter = new FailureLogLimiter<string>(new FakeTimeProvider(), TimeSpan.FromSeconds(30));
        limiter.TryEnter("endpoint", out _);

        limiter.Reset("endpoint");

        Assert.True(limiter.TryEnter("endpoint", out _));
    }
}
