using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.Control;
using Tandem.Node.Transport;
using Tandem.Vrrp;

namespace Tandem.Node.Tests.Control;

/// <summary>
/// The order of a hand-over on a fake clock, with the SYN filter on a real listen socket on 127.0.0.1 and the speaker
/// replaced by a delegate.
/// </summary>
public sealed class ProxyHandOverTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly ProxyConnectionDrain _drain = new();
    private readonly ProxyListenerGate _gate = new();
    private readonly System.Net.Sockets.Socket _listener;
    private Func<Task>? _beforeRelease;

    public ProxyHandOverTests()
    {
        _listener = _gate.CreateListenSocket(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        Assert.True(_drain.TryBeginHandOver());
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task Run_OpenRequest_AdvertWaitsForIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var finishRequest = new TaskCompletionSource();
        var request = _drain.OnRequestAsync(new DefaultHttpContext(), _ => finishRequest.Task);
        var advert = new HandOverProbe(_gate, _time);

        var run = CreateHandOver(_gate).RunAsync(hook => _beforeRelease = hook, advert.HandOverAsync);
        await AdvanceAsync(TimeSpan.FromMilliseconds(500), () => advert.Called);

        Assert.False(advert.Called, "The advert went out while a request was in flight.");
        Assert.True(_gate.Closed);
        Assert.True(_drain.Draining);

        finishRequest.SetResult();
        await request;
        var finished = _time.GetUtcNow();
        await AdvanceAsync(TimeSpan.FromSeconds(2), () => advert.Called);

        Assert.True(advert.Called, "No advert after the request finished.");
        Assert.True(advert.ListenerClosedAtAdvert);
        Assert.True(advert.CalledAt - finished >= ProxyHandOver.AdvertQuietPeriod, $"The advert went out {advert.CalledAt - finished} after the last request.");

        advert.Complete(VrrpHandOverResult.NoBackupTookOver);
        Assert.Equal(VrrpHandOverResult.NoBackupTookOver, (await run).Result);
        Assert.False(_gate.Closed);
        Assert.False(_drain.Draining);
        Assert.True(_drain.TryBeginHandOver(), "The failed hand-over still holds the drain.");
    }

    [Fact]
    public async Task Run_RequestNeverEnds_AdvertAfterTimeout()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var finishRequest = new TaskCompletionSource();
        var request = _drain.OnRequestAsync(new DefaultHttpContext(), _ => finishRequest.Task);
        var advert = new HandOverProbe(_gate, _time);
        var start = _time.GetUtcNow();

        var run = CreateHandOver(_gate).RunAsync(hook => _beforeRelease = hook, advert.HandOverAsync);
        await AdvanceAsync(TimeSpan.FromSeconds(3), () => advert.Called);

        Assert.True(advert.Called, "No advert after the wait timed out.");
        Assert.InRange(advert.CalledAt - start, ProxyHandOver.AdvertWaitTimeout, ProxyHandOver.AdvertWaitTimeout + TimeSpan.FromSeconds(1));

        advert.Complete(VrrpHandOverResult.Stopped);
        await run;
        finishRequest.SetResult();
        await request;
        Assert.False(_gate.Closed);
    }

    [Fact]
    public async Task Run_Completed_OpensListenerAfterReleaseWait()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var advert = new HandOverProbe(_gate, _time);

        var run = CreateHandOver(_gate).RunAsync(hook => _beforeRelease = hook, advert.HandOverAsync);
        await AdvanceAsync(TimeSpan.FromSeconds(2), () => advert.Called);
        advert.Complete(VrrpHandOverResult.Completed);
        await run;

        // The addresses are still here until the speaker has run its wait, so the listener stays closed.
        Assert.True(_gate.Closed);
        Assert.True(_drain.Draining);
        Assert.NotNull(_beforeRelease);

        var release = _beforeRelease();
        await AdvanceAsync(TimeSpan.FromSeconds(3), () => release.IsCompleted);

        Assert.True(release.IsCompleted, "The wait before the release did not end.");
        Assert.False(_gate.Closed);
        Assert.False(_drain.Draining);
        Assert.True(_drain.TryBeginHandOver(), "The completed hand-over still holds the drain.");
    }

    [Fact]
    public async Task Run_NoListenerGate_AdvertsAtOnce()
    {
        var advert = new HandOverProbe(_gate, _time);

        var run = CreateHandOver(listenerGate: null).RunAsync(hook => _beforeRelease = hook, advert.HandOverAsync);

        // Without the filter new connections keep coming, so waiting for a quiet listener would only delay.
        Assert.True(advert.Called);
        Assert.False(advert.ListenerClosedAtAdvert);
        advert.Complete(VrrpHandOverResult.NotMaster);
        Assert.Equal(VrrpHandOverResult.NotMaster, (await run).Result);
    }

    private ProxyHandOver CreateHandOver(ProxyListenerGate? listenerGate) =>
        new(_drain, listenerGate, _time, NullLogger.Instance);

    /// <summary>Advances the clock in 10 ms steps, the drain's polling interval, until <paramref name="done"/> or <paramref name="limit"/>.</summary>
    private async Task AdvanceAsync(TimeSpan limit, Func<bool> done)
    {
        var end = _time.GetUtcNow() + limit;
        while (!done() && _time.GetUtcNow() < end)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));

            // The drain's wait continues on the thread pool; a few yields let it see the new time before the next step.
            for (var i = 0; i < 5 && !done(); i++)
            {
                await Task.Yield();
            }
        }
    }

    /// <summary>A replacement for the speaker's hand-over that records its call and completes on request.</summary>
    private sealed class HandOverProbe(ProxyListenerGate gate, TimeProvider time)
    {
        private readonly TaskCompletionSource<VrrpHandOverResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Called { get; private set; }

        public bool ListenerClosedAtAdvert { get; private set; }

        public DateTimeOffset CalledAt { get; private set; }

        public Task<VrrpHandOverResult> HandOverAsync()
        {
            CalledAt = time.GetUtcNow();
            ListenerClosedAtAdvert = gate.Closed;
            Called = true;
            return _result.Task;
        }

        public void Complete(VrrpHandOverResult result) => _result.SetResult(result);
    }
}
