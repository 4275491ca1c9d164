using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Tandem.SessionStore.Tests;

/// <summary>
/// Two stores on one real redis-server stand for two nodes, each with its own local cache. A lookup reads the cache
/// first and Redis on a miss, as the node does.
/// </summary>
public sealed class RedisChangeHintTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan HintTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReconnectTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task RePinByOtherNode_LeavesCacheQuickly()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var a = await Node.ConnectAsync(server.Configuration, prefix);
        await using var b = await Node.ConnectAsync(server.Configuration, prefix);
        var sessionId = NewSessionId();
        await a.StoreAsync(sessionId, "b1");
        Assert.True(await WaitForHintsAsync(b, 1), "Node B received no hint of the new pin.");
        Assert.Equal("b1", await b.LookUpAsync(sessionId));

        var hintsBefore = b.Metrics.GetHints(ChangeHintOutcome.Applied);
        await a.StoreAsync(sessionId, "b2");
        var elapsed = Stopwatch.StartNew();
        var seen = await PollAsync(async () => await b.LookUpAsync(sessionId) == "b2", HintTimeout);
        elapsed.Stop();

        Assert.True(seen, $"Node B still returned {await b.LookUpAsync(sessionId)} after {HintTimeout}.");
        Assert.Equal(hintsBefore + 1, b.Metrics.GetHints(ChangeHintOutcome.Applied));
        Assert.True(a.Metrics.GetHints(ChangeHintOutcome.Own) >= 1, "Node A did not receive and ignore its own hint.");
        Assert.Equal(0, a.Metrics.GetHints(ChangeHintOutcome.Applied));
        TestContext.Current.TestOutputHelper?.WriteLine($"Re-pin seen by node B after {elapsed.Elapsed.TotalMilliseconds:F1} ms.");
    }

    [Fact]
    public async Task UnchangedPin_SendsNoHint()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var a = await Node.ConnectAsync(server.Configuration, prefix);
        await using var b = await Node.ConnectAsync(server.Configuration, prefix);
        var refreshed = NewSessionId();
        await a.StoreAsync(refreshed, "b1");
        await a.StoreAsync(refreshed, "b1");

        // Hints arrive in publishing order, so once the marker's hint is in, any hint of the refresh is in too.
        await a.StoreAsync(NewSessionId(), "b1");
        var markerSeen = await PollAsync(() => Task.FromResult(b.Metrics.GetHints(ChangeHintOutcome.Applied) >= 2), HintTimeout);

        Assert.True(markerSeen, "Node B never received the marker's hint.");
        Assert.Equal(2, b.Metrics.GetHints(ChangeHintOutcome.Applied));
    }

    [Fact]
    public async Task HintMissedWhileDisconnected_NotServedAfterReconnect()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var a = await Node.ConnectAsync(server.Configuration, prefix);
        await using var b = await Node.ConnectAsync(server.Configuration, prefix);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true");
        var changed = NewSessionId();
        var unchanged = NewSessionId();
        var onlyCached = NewSessionId();
        await a.StoreAsync(changed, "b1");
        await a.StoreAsync(unchanged, "b1");
        Assert.True(await WaitForHintsAsync(b, 2), "Node B received no hints of the new pins.");
        Assert.Equal("b1", await b.LookUpAsync(changed));
        Assert.Equal("b1", await b.LookUpAsync(unchanged));
        b.Cache.Set("backends", onlyCached, "b1", TimeToLive);

        // A write without a hint is a re-pin whose hint node B missed while its subscription was down.
        await admin.GetDatabase().StringSetAsync(b.Store.CreateKey("backends", changed), "b2", TimeToLive);
        Assert.Equal("b1", await b.LookUpAsync(changed));
        var killed = await KillConnectionsAsync(admin, server, b.ClientName);
        var revalidated = await PollAsync(() => Task.FromResult(b.Metrics.Revalidations >= 1), ReconnectTimeout);

        Assert.True(killed >= 2, $"Only {killed} connections of node B were killed.");
        Assert.True(revalidated, "Node B did not revalidate its cache after the reconnect.");
        Assert.Equal("b2", await b.LookUpAsync(changed));
        Assert.Equal("b1", await b.LookUpAsync(unchanged));
        Assert.True(b.Cache.TryGet("backends", onlyCached, out var kept, out _), "A pin that Redis lacks left the cache.");
        Assert.Equal("b1", kept);
        Assert.True(b.Metrics.RevalidationDrops >= 1, "No cached pin was dropped.");
    }

    [Fact]
    public async Task ForeignMessage_CountedAsMalformed()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        await using var b = await Node.ConnectAsync(server.Configuration, prefix);
        await using var publisher = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var sessionId = NewSessionId();
        b.Cache.Set("backends", sessionId, "b1", TimeToLive);

        await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal(prefix + "affinity-changes"), "not a hint");
        var counted = await PollAsync(() => Task.FromResult(b.Metrics.GetHints(ChangeHintOutcome.Malformed) == 1), HintTimeout);

        Assert.True(counted, "The foreign message was not counted as malformed.");
        Assert.True(b.Cache.TryGet("backends", sessionId, out _, out _), "A malformed message dropped a cached pin.");
    }

    [Fact]
    public async Task RedisDownAtStart_SubscribesOnceConnected()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        var port = RedisServer.GetFreePort();
        var prefix = NewPrefix();
        await using var b = await Node.ConnectAsync($"127.0.0.1:{port}", prefix, connectTimeoutMilliseconds: 300);
        Assert.False(b.Store.IsConnected);
        await using var server = await RedisServer.StartAsync(port);
        await using var a = await Node.ConnectAsync(server.Configuration, prefix);
        var sessionId = NewSessionId();

        // Node B subscribes when its connection comes up, which it does not report, so node A re-pins until a hint lands.
        var seen = await PollAsync(
            async () =>
            {
                await a.StoreAsync(sessionId, NewSessionId());
                return b.Metrics.GetHints(ChangeHintOutcome.Applied) >= 1;
            },
            ReconnectTimeout,
            TimeSpan.FromMilliseconds(100));

        Assert.True(seen, "Node B never received a hint after Redis came up.");
    }

    [Theory]
    [InlineData("sender\nbackends\nsession", true)]
    [InlineData("sender\nbackends", false)]
    [InlineData("sender\nbackends\nsession\nextra", false)]
    [InlineData("sender\n\nsession", false)]
    [InlineData("", false)]
    public void TryParseHint_AcceptsOnlyThreeFields(string message, bool expected)
    {
        Assert.Equal(expected, RedisAffinityStore.TryParseHint(message, out _, out _, out _));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", false)]
    [InlineData("0123456789abcdef0123456789abcde", false)]
    [InlineData("0123456789abcdef\n123456789abcdef", false)]
    public void IsProbe_AcceptsOnlySenderId(string message, bool expected)
    {
        Assert.Equal(expected, RedisAffinityStore.IsProbe(message, out _));
    }

    [Fact]
    public void TryParseHint_RejectsOversizedMessage()
    {
        var message = "sender\nbackends\n" + new string('s', RedisAffinityStore.MaxHintLength);

        Assert.False(RedisAffinityStore.TryParseHint(message, out _, out _, out _));
    }

    /// <summary>Kills every connection whose client name is <paramref name="clientName"/> and returns how many.</summary>
    private static async Task<int> KillConnectionsAsync(IConnectionMultiplexer admin, RedisServer server, string clientName)
    {
        var redis = admin.GetServer("127.0.0.1", server.Port);
        var killed = 0;
        foreach (var client in await redis.ClientListAsync())
        {
            if (client.Name == clientName)
            {
                await redis.ClientKillAsync(client.Id, skipMe: true);
                killed++;
            }
        }

        return killed;
    }

    /// <summary>
    /// Waits until <paramref name="node"/> applied <paramref name="count"/> hints, so a late hint cannot drop a pin
    /// that the test reads afterwards.
    /// </summary>
    private static Task<bool> WaitForHintsAsync(Node node, long count) =>
        PollAsync(() => Task.FromResult(node.Metrics.GetHints(ChangeHintOutcome.Applied) >= count), HintTimeout);

    private static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(interval ?? PollInterval, TestContext.Current.CancellationToken);
        }

        return await condition();
    }

    private static string NewPrefix() => $"hints-{Guid.NewGuid():N}:";

    private static string NewSessionId() => Guid.NewGuid().ToString("N");

    /// <summary>A store with its local cache, read and written the way the node's affinity code does.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private Node(RedisAffinityStore store, InProcessAffinityStore cache, SessionStoreMetrics metrics, string clientName)
        {
            Store = store;
            Cache = cache;
            Metrics = metrics;
            ClientName = clientName;
        }

        public RedisAffinityStore Store { get; }

        public InProcessAffinityStore Cache { get; }

        public SessionStoreMetrics Metrics { get; }

        public string ClientName { get; }

        public static async Task<Node> ConnectAsync(string configuration, string prefix, int connectTimeoutMilliseconds = 2000)
        {
            var clientName = $"node-{Guid.NewGuid():N}";
            var metrics = new SessionStoreMetrics();
            var options = new SessionStoreOptions
            {
                Redis = $"{configuration},name={clientName}",
                KeyPrefix = prefix,
                ConnectTimeoutMilliseconds = connectTimeoutMilliseconds,
            };
            var store = await RedisAffinityStore.ConnectAsync(
                options, NullLoggerFactory.Instance, TimeProvider.System, metrics, TestContext.Current.CancellationToken);
            var cache = new InProcessAffinityStore(TimeProvider.System, capacity: 1000);
            store.AttachLocalCache(cache);
            return new Node(store, cache, metrics, clientName);
        }

        public async Task<string?> LookUpAsync(string sessionId)
        {
            if (Cache.TryGet("backends", sessionId, out var cached, out _))
            {
                return cached;
            }

            var lookup = await Store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);
            if (lookup.Status == AffinityLookupStatus.Found)
            {
                Cache.Set("backends", sessionId, lookup.DestinationId!, TimeToLive);
            }

            return lookup.DestinationId;
        }

        public async Task StoreAsync(string sessionId, string destinationId)
        {
            Cache.Set("backends", sessionId, destinationId, TimeToLive);
            var status = await Store.SetAsync("backends", sessionId, destinationId, TimeToLive, TestContext.Current.CancellationToken);
            Assert.Equal(AffinityWriteStatus.Stored, status);
        }

        public ValueTask DisposeAsync() => Store.DisposeAsync();
    }
}
