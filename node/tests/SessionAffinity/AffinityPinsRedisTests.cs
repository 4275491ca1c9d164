using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Tandem.Node.SessionAffinity;
using Tandem.SessionStore;
using Tandem.SessionStore.Tests;

namespace Tandem.Node.Tests.SessionAffinity;

/// <summary>
/// <see cref="AffinityPins"/> in front of a real redis-server on 127.0.0.1 that loses its data while the pin stays in
/// the node's cache.
/// </summary>
public sealed class AffinityPinsRedisTests : IAsyncLifetime
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider _clock = new();
    private RedisServer? _server;
    private RedisAffinityStore? _store;
    private ConnectionMultiplexer? _inspector;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.GetSkipReason() is not null)
        {
            return;
        }

        _server = await RedisServer.StartAsync();
        _store = await ConnectAsync(_server);
        _inspector = await ConnectionMultiplexer.ConnectAsync($"{_server.Configuration},abortConnect=false");
    }

    public async ValueTask DisposeAsync()
    {
        if (_inspector is not null)
        {
            await _inspector.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task LookUp_PinFlushedFromRedis_WrittenBack()
    {
        var pins = CreatePins(RequireStore());
        Assert.True(await pins.StoreAsync("backends", "s1", "b2", TestContext.Current.CancellationToken));

        Assert.Equal("+OK", await _server!.SendCommandAsync("FLUSHALL"));
        await LookUpAndWaitAsync(pins);
        var beforeInterval = await ReadPinAsync("s1");
        _clock.Advance(AffinityPins.SharedCheckInterval);
        await LookUpAndWaitAsync(pins);

        Assert.Null(beforeInterval);
        Assert.Equal("b2", await ReadPinAsync("s1"));
    }

    [Fact]
    public async Task LookUp_RedisRestartedEmpty_WritesPinBack()
    {
        var store = RequireStore();
        var pins = CreatePins(store);
        store.ConnectivityChanged += pins.OnSharedConnectivityChanged;
        Assert.True(await pins.StoreAsync("backends", "s1", "b2", TestContext.Current.CancellationToken));

        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.ConnectivityChanged += () =>
        {
            if (store.IsConnected)
            {
                reconnected.TrySetResult();
            }
        };
        var port = _server!.Port;
        await _server.DisposeAsync();
        _server = await RedisServer.StartAsync(port);
        await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await LookUpAndWaitAsync(pins);

        Assert.Equal("b2", await ReadPinAsync("s1"));
    }

    [Fact]
    public async Task LookUp_ConfirmedPin_DoesNotWriteAgain()
    {
        var pins = CreatePins(RequireStore());
        Assert.True(await pins.StoreAsync("backends", "s1", "b2", TestContext.Current.CancellationToken));
        Assert.Equal("+OK", await _server!.SendCommandAsync("FLUSHALL"));

        _clock.Advance(AffinityPins.SharedCheckInterval - TimeSpan.FromSeconds(1));
        await LookUpAndWaitAsync(pins);

        Assert.Null(await ReadPinAsync("s1"));
    }

    [Fact]
    public async Task LookUp_RedisDown_ServesCachedPin()
    {
        var metrics = new SessionStoreMetrics();
        await using var store = await ConnectAsync(_server ?? RequireServer(), metrics);
        var pins = CreatePins(store);
        Assert.True(await pins.StoreAsync("backends", "s1", "b2", TestContext.Current.CancellationToken));

        await _server!.KillAsync();
        _clock.Advance(AffinityPins.SharedCheckInterval);
        var lookup = await pins.LookUpAsync("backends", "s1", TestContext.Current.CancellationToken);
        Assert.True(lookup.NeedsWriteBack);
        pins.StartWriteBack("backends", "s1", "b2");
        await pins.WaitForBackgroundWritesAsync().WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.Found, lookup.Status);
        Assert.Equal("b2", lookup.DestinationId);
        Assert.Equal(
            1,
            metrics.GetFailures(StoreOperation.Set, StoreFailureReason.ConnectionFailed)
            + metrics.GetFailures(StoreOperation.Set, StoreFailureReason.Timeout));
    }

    private AffinityPins CreatePins(RedisAffinityStore store) =>
        new(new InProcessAffinityStore(_clock, capacity: 100), store, TimeToLive, _clock);

    private async Task LookUpAndWaitAsync(AffinityPins pins)
    {
        var lookup = await pins.LookUpAsync("backends", "s1", TestContext.Current.CancellationToken);
        Assert.Equal(AffinityLookupStatus.Found, lookup.Status);
        Assert.Equal("b2", lookup.DestinationId);
        if (lookup.NeedsWriteBack)
        {
            pins.StartWriteBack("backends", "s1", "b2");
        }

        await pins.WaitForBackgroundWritesAsync().WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    private async Task<string?> ReadPinAsync(string sessionId)
    {
        var value = await _inspector!.GetDatabase().StringGetAsync($"test:affinity:backends:{sessionId}");
        return value.IsNull ? null : value.ToString();
    }

    private RedisAffinityStore RequireStore()
    {
        RequireServer();
        return _store!;
    }

    private RedisServer RequireServer()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        return _server!;
    }

    private static Task<RedisAffinityStore> ConnectAsync(RedisServer server, SessionStoreMetrics? metrics = null) =>
        RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = server.Configuration, KeyPrefix = "test:" },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            metrics ?? new SessionStoreMetrics(),
            TestContext.Current.CancellationToken);
}
