using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Tandem.SessionStore.Tests;

public sealed class RedisHeartbeatStoreTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PublishThenRead_ReturnsEveryNode()
    {
        var prefix = NewPrefix();
        await using var store = await ConnectAsync(fixture.Require().Configuration, prefix);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);

        Assert.True(await heartbeats.PublishAsync("node-b", Encoding.UTF8.GetBytes("status b"), TimeToLive, TestContext.Current.CancellationToken));
        Assert.True(await heartbeats.PublishAsync("node-a", Encoding.UTF8.GetBytes("status a"), TimeToLive, TestContext.Current.CancellationToken));
        var read = await heartbeats.ReadAllAsync(TestContext.Current.CancellationToken);

        Assert.True(read.Available);
        Assert.Null(read.Error);
        Assert.Equal(["node-a", "node-b"], read.Heartbeats.Select(h => h.NodeName));
        Assert.Equal("status a", Encoding.UTF8.GetString(read.Heartbeats[0].Payload.Span));
        Assert.Equal("status b", Encoding.UTF8.GetString(read.Heartbeats[1].Payload.Span));
        Assert.Equal(TimeToLive, read.Heartbeats[0].TimeToLive);
        Assert.InRange(read.Heartbeats[0].Age, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Publish_WritesPrefixedKeyWithExpiry()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var store = await ConnectAsync(server.Configuration, prefix);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);

        await store.CreateHeartbeatStore(NullLoggerFactory.Instance)
            .PublishAsync("node-a", new byte[] { 1, 2, 3 }, TimeToLive, TestContext.Current.CancellationToken);
        var expiry = await inspector.GetDatabase().KeyTimeToLiveAsync($"{prefix}heartbeat:node-a");
        var members = await inspector.GetDatabase().SetMembersAsync($"{prefix}heartbeat-nodes");

        Assert.NotNull(expiry);
        Assert.InRange(expiry.Value, TimeToLive - TimeSpan.FromSeconds(10), TimeToLive);
        Assert.Equal(["node-a"], members.Select(m => m.ToString()));
    }

    [Fact]
    public async Task Read_AfterExpiry_DropsNodeAndIndexEntry()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var store = await ConnectAsync(server.Configuration, prefix);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);
        await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken);
        await heartbeats.PublishAsync("node-b", new byte[] { 2 }, TimeSpan.FromMilliseconds(200), TestContext.Current.CancellationToken);

        // Redis expires keys on its own clock, so this test waits for the real 200 ms to pass.
        var expired = await WaitUntilAsync(async () => !await inspector.GetDatabase().KeyExistsAsync($"{prefix}heartbeat:node-b"));
        var read = await heartbeats.ReadAllAsync(TestContext.Current.CancellationToken);
        var indexCleaned = await WaitUntilAsync(async () => !await inspector.GetDatabase().SetContainsAsync($"{prefix}heartbeat-nodes", "node-b"));

        Assert.True(expired, "node-b's heartbeat did not expire within 5 s.");
        Assert.True(read.Available);
        Assert.Equal(["node-a"], read.Heartbeats.Select(h => h.NodeName));
        Assert.True(indexCleaned, "node-b stayed in the index after its heartbeat expired.");
    }

    [Fact]
    public async Task Remove_DropsKeyAndIndexEntry()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var store = await ConnectAsync(server.Configuration, prefix);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);
        await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken);
        await heartbeats.PublishAsync("node-b", new byte[] { 2 }, TimeToLive, TestContext.Current.CancellationToken);

        var removed = await heartbeats.RemoveAsync("node-b", TestContext.Current.CancellationToken);
        var read = await heartbeats.ReadAllAsync(TestContext.Current.CancellationToken);

        Assert.True(removed);
        Assert.Equal(["node-a"], read.Heartbeats.Select(h => h.NodeName));
        Assert.False(await inspector.GetDatabase().KeyExistsAsync($"{prefix}heartbeat:node-b"));
        Assert.False(await inspector.GetDatabase().SetContainsAsync($"{prefix}heartbeat-nodes", "node-b"));
    }

    [Fact]
    public async Task Read_AgeGrowsOnServerClock()
    {
        var prefix = NewPrefix();
        await using var store = await ConnectAsync(fixture.Require().Configuration, prefix);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);
        await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken);

        // The age comes from Redis's PTTL, which only a real wait changes.
        await Task.Delay(TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);
        var read = await heartbeats.ReadAllAsync(TestContext.Current.CancellationToken);

        Assert.InRange(read.Heartbeats.Single().Age, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Ping_ReturnsRoundTripTime()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration, NewPrefix());

        var roundTrip = await store.CreateHeartbeatStore(NullLoggerFactory.Instance).PingAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(roundTrip);
        Assert.InRange(roundTrip.Value, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ServerKilled_ReturnsUnavailableWithoutThrowing()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        await using var server = await RedisServer.StartAsync();
        var metrics = new SessionStoreMetrics();
        await using var store = await ConnectAsync(server.Configuration, NewPrefix(), metrics);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);
        Assert.True(await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken));

        await server.KillAsync();
        var elapsed = Stopwatch.StartNew();
        var published = await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken);
        var read = await heartbeats.ReadAllAsync(TestContext.Current.CancellationToken);
        var roundTrip = await heartbeats.PingAsync(TestContext.Current.CancellationToken);
        var removed = await heartbeats.RemoveAsync("node-a", TestContext.Current.CancellationToken);
        elapsed.Stop();

        Assert.False(published);
        Assert.False(read.Available);
        Assert.NotNull(read.Error);
        Assert.Empty(read.Heartbeats);
        Assert.Null(roundTrip);
        Assert.False(removed);
        // Four operations, each bounded by the 250 ms operation timeout, plus scheduling slack.
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(3), $"Operations took {elapsed.Elapsed}.");
        Assert.Equal(1, FailuresOf(metrics, StoreOperation.HeartbeatPublish));
        Assert.Equal(1, FailuresOf(metrics, StoreOperation.HeartbeatRead));
        Assert.Equal(1, FailuresOf(metrics, StoreOperation.Ping));
        Assert.Equal(1, FailuresOf(metrics, StoreOperation.HeartbeatRemove));
    }

    [Fact]
    public async Task Read_PausedServer_TimesOutOnInjectedClock()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        // A server of its own: the pause outlives this test and would stall the next test on a shared server.
        await using var server = await RedisServer.StartAsync();
        var clock = new FakeTimeProvider();
        var metrics = new SessionStoreMetrics();
        await using var store = await RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = server.Configuration, KeyPrefix = NewPrefix() },
            NullLoggerFactory.Instance, clock, metrics, TestContext.Current.CancellationToken);
        var heartbeats = store.CreateHeartbeatStore(NullLoggerFactory.Instance);
        await heartbeats.PublishAsync("node-a", new byte[] { 1 }, TimeToLive, TestContext.Current.CancellationToken);

        Assert.Equal("+OK", await server.SendCommandAsync("CLIENT", "PAUSE", "1500", "ALL"));
        var pending = heartbeats.ReadAllAsync(TestContext.Current.CancellationToken).AsTask();
        Assert.False(pending.IsCompleted);

        clock.Advance(TimeSpan.FromMilliseconds(250));
        var read = await pending.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.False(read.Available);
        Assert.Equal("Timeout", read.Error);
        Assert.Equal(1, metrics.GetFailures(StoreOperation.HeartbeatRead, StoreFailureReason.Timeout));
    }

    [Fact]
    public async Task InProcess_ExpiresOnInjectedClock()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessHeartbeatStore(clock);
        await store.PublishAsync("node-a", new byte[] { 7 }, TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        clock.Advance(TimeSpan.FromSeconds(3));
        var before = await store.ReadAllAsync(TestContext.Current.CancellationToken);
        clock.Advance(TimeSpan.FromSeconds(2));
        var after = await store.ReadAllAsync(TestContext.Current.CancellationToken);
        await store.PublishAsync("node-b", new byte[] { 8 }, TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await store.RemoveAsync("node-b", TestContext.Current.CancellationToken);
        var removed = await store.ReadAllAsync(TestContext.Current.CancellationToken);

        Assert.True(before.Available);
        Assert.Equal(TimeSpan.FromSeconds(3), before.Heartbeats.Single().Age);
        Assert.Equal(7, before.Heartbeats.Single().Payload.Span[0]);
        Assert.True(after.Available);
        Assert.Empty(after.Heartbeats);
        Assert.Empty(removed.Heartbeats);
    }

    private static long FailuresOf(SessionStoreMetrics metrics, StoreOperation operation) =>
        Enum.GetValues<StoreFailureReason>().Sum(reason => metrics.GetFailures(operation, reason));

    private static Task<RedisAffinityStore> ConnectAsync(string configuration, string keyPrefix, SessionStoreMetrics? metrics = null) =>
        RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = configuration, KeyPrefix = keyPrefix },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            metrics ?? new SessionStoreMetrics(),
            TestContext.Current.CancellationToken);

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition)
    {
        // Bounded: at most 100 checks 50 ms apart.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
        }

        return false;
    }

    // Each test writes under a prefix of its own, so tests sharing the fixture's server never see each other's nodes.
    private static string NewPrefix() => $"hb-{Guid.NewGuid():N}:";
}
