using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Addresses;

public sealed class VirtualAddressWorkerTests
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private readonly FakePlatform _platform = new();
    private readonly VrrpCounters _counters = new();

    private VirtualAddressWorker CreateWorker()
    {
        VirtualAddress.TryParse("198.51.100.100/24", out var first, out _);
        VirtualAddress.TryParse("198.51.100.101/24", out var second, out _);
        return new VirtualAddressWorker("veth-test", [first, second], _platform.Addresses, _platform.ArpSender, _counters, new RecordingLoggerFactory().CreateLogger("test"));
    }

    [Fact]
    public async Task ClaimThenRelease_RunsInOrder()
    {
        var worker = CreateWorker();

        worker.Claim();
        worker.Release();
        await worker.CompleteAsync(TestContext.Current.CancellationToken);

        Assert.Equal(
            ["add 198.51.100.100/24", "add 198.51.100.101/24", "remove 198.51.100.100/24", "remove 198.51.100.101/24"],
            _platform.Events);
    }

    [Fact]
    public async Task ReleaseWithWait_RemovesAfterWait()
    {
        var worker = CreateWorker();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        worker.Release(() => gate.Task);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Empty(_platform.Events);

        gate.SetResult();
        await worker.CompleteAsync(TestContext.Current.CancellationToken).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(["remove 198.51.100.100/24", "remove 198.51.100.101/24"], _platform.Events);
    }

    [Fact]
    public async Task ReleaseWithFailingWait_StillRemoves()
    {
        var worker = CreateWorker();

        worker.Release(() => throw new InvalidOperationException("hook bug"));
        await worker.CompleteAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["remove 198.51.100.100/24", "remove 198.51.100.101/24"], _platform.Events);
    }

    [Fact]
    public async Task Announce_SendsArpWithoutAdding()
    {
        var worker = CreateWorker();

        worker.Announce();
        await worker.CompleteAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, _platform.ArpSender.Announcements);
        Assert.Empty(_platform.Events);
    }

    [Fact]
    public async Task AnnounceBeforeRelease_SkipsAnnouncement()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _platform.AddGate = gate.Task;
        var worker = CreateWorker();
        worker.Claim();
        await _platform.AddStarted.Task.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        // The repeat announcement is queued, then the node steps down before either announcement ran.
        worker.Announce();
        worker.Release();
        gate.SetResult();
        await worker.CompleteAsync(TestContext.Current.CancellationToken).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(0, _platform.ArpSender.Announcements);
        Assert.Equal("remove 198.51.100.101/24", _platform.Events[^1]);
    }

    [Fact]
    public async Task Release_DuringAnnouncement_CancelsIt()
    {
        _platform.ArpSender.HoldUntilCancelled = true;
        var worker = CreateWorker();
        worker.Claim();
        await _platform.ArpSender.FirstAnnouncement.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        worker.Release();
        await worker.CompleteAsync(TestContext.Current.CancellationToken).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(1, _platform.ArpSender.Cancelled);
        Assert.Equal("remove 198.51.100.101/24", _platform.Events[^1]);
    }

    [Fact]
    public async Task ReleaseDuringClaim_SkipsAnnouncement()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _platform.AddGate = gate.Task;
        var worker = CreateWorker();
        worker.Claim();
        await _platform.AddStarted.Task.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        // The node steps down while the addresses are still being added.
        worker.Release();
        gate.SetResult();
        await worker.CompleteAsync(TestContext.Current.CancellationToken).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(0, _platform.ArpSender.Announcements);
        Assert.Equal("remove 198.51.100.101/24", _platform.Events[^1]);
    }
}
