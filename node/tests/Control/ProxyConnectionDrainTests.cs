using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Control;

namespace Tandem.Node.Tests.Control;

public sealed class ProxyConnectionDrainTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(200);

    private readonly FakeTimeProvider _time = new();
    private readonly ProxyConnectionDrain _drain = new();

    /// <summary>
    /// Advances the clock in 10 ms steps, the drain's polling interval, until the wait ends or the steps run out, and
    /// returns the time advanced.
    /// </summary>
    private async Task<TimeSpan> AdvanceUntilDoneAsync(Task<bool> wait, int maxSteps = 1000)
    {
        var start = _time.GetUtcNow();
        for (var step = 0; step < maxSteps && !wait.IsCompleted; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
        }

        return _time.GetUtcNow() - start;
    }

    [Fact]
    public async Task WaitForIdle_NoConnections_ReturnsTrue()
    {
        var wait = _drain.WaitForIdleAsync(Timeout, QuietPeriod, _time, TestContext.Current.CancellationToken);

        var elapsed = await AdvanceUntilDoneAsync(wait);

        Assert.True(await wait);
        // Not before the quiet period; later by as many steps as the wait's continuation lagged behind the clock.
        Assert.InRange(elapsed, QuietPeriod, QuietPeriod + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task WaitForIdle_RequestInFlight_TimesOut()
    {
        var finish = new TaskCompletionSource();
        var request = _drain.OnRequestAsync(new DefaultHttpContext(), _ => finish.Task);
        Assert.Equal(1, _drain.RequestsInFlight);

        var wait = _drain.WaitForIdleAsync(Timeout, QuietPeriod, _time, TestContext.Current.CancellationToken);
        var elapsed = await AdvanceUntilDoneAsync(wait);

        Assert.False(await wait);
        Assert.InRange(elapsed, Timeout, Timeout + TimeSpan.FromSeconds(1));
        finish.SetResult();
        await request;
        Assert.Equal(0, _drain.RequestsInFlight);
    }

    [Fact]
    public async Task OnRequest_Draining_MarksHttp11ConnectionClose()
    {
        var context = new DefaultHttpContext();
        context.Request.Protocol = "HTTP/1.1";

        _drain.Begin();
        await _drain.OnRequestAsync(context, _ => Task.CompletedTask);
        _drain.End();

        Assert.Equal("close", context.Response.Headers.Connection.ToString());
        Assert.False(_drain.Draining);
    }

    [Fact]
    public void TryBeginHandOver_SecondCall_Rejected()
    {
        Assert.True(_drain.TryBeginHandOver());
        Assert.False(_drain.TryBeginHandOver());

        _drain.EndHandOver();

        Assert.True(_drain.TryBeginHandOver());
    }
}
