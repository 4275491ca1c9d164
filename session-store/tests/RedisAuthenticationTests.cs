using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.SessionStore.Tests;

/// <summary>The stores against a redis-server that requires a password, and one with an ACL user limited to the store's needs.</summary>
public sealed class RedisAuthenticationTests
{
    /// <summary>The ACL rules of the node's user as docs/configuration.md lists them, with the prefix <c>tandem:</c>.</summary>
    public static readonly string[] MinimalAclRules =
    [
        "resetchannels", "~tandem:*", "&tandem:*", "-@all",
        "+get", "+set", "+setex", "+mget", "+unlink", "+sadd", "+srem", "+srandmember", "+pttl", "+ping",
        "+publish", "+subscribe", "+evalsha", "+eval", "+script|load",
        "+echo", "+info", "+client|id", "+client|setname",
    ];

    private const string Password = "correct-horse-7f3a";
    private const string WrongPassword = "wrong-battery-91c2";
    private const string AdminPassword = "admin-staple-55d0";
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task RequirePass_RightPassword_StoresPins()
    {
        SkipWithoutRedis();
        await using var server = await RedisServer.StartAsync(RedisServer.GetFreePort(), "--requirepass", Password);
        await using var store = await ConnectAsync($"{server.Configuration},password={Password}", "tandem:");
        var sessionId = NewSessionId();

        var write = await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);

        Assert.Equal(AffinityWriteStatus.Stored, write);
        Assert.Equal("b1", lookup.DestinationId);
    }

    [Fact]
    public async Task RequirePass_WrongPassword_CountedAsAuthentication()
    {
        SkipWithoutRedis();
        await using var server = await RedisServer.StartAsync(RedisServer.GetFreePort(), "--requirepass", Password);
        var metrics = new SessionStoreMetrics();
        var options = new SessionStoreOptions
        {
            Redis = $"{server.Configuration},password={WrongPassword}",
            // Long enough for Redis to reply to AUTH on a busy host before the first attempt times out, which would hide the cause.
            ConnectTimeoutMilliseconds = 5000,
        };
        await using var store = await RedisAffinityStore.ConnectAsync(
            options, NullLoggerFactory.Instance, TimeProvider.System, metrics, TestContext.Current.CancellationToken);

        var lookup = await store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
        Assert.Equal(1, metrics.GetFailures(StoreOperation.Get, StoreFailureReason.AuthenticationFailed));
        Assert.Equal(0, metrics.GetFailures(StoreOperation.Get, StoreFailureReason.ConnectionFailed));
    }

    [Fact]
    public async Task RequirePass_WrongPassword_StartsDegraded()
    {
        SkipWithoutRedis();
        await using var server = await RedisServer.StartAsync(RedisServer.GetFreePort(), "--requirepass", Password);
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        var options = new SessionStoreOptions
        {
            Redis = $"{server.Configuration},password={WrongPassword}",
            // Long enough for Redis to reply to AUTH on a busy host before the first attempt times out, which would hide the cause.
            ConnectTimeoutMilliseconds = 5000,
        };

        await using var store = await RedisAffinityStore.ConnectAsync(
            options, loggerFactory, TimeProvider.System, new SessionStoreMetrics(), TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken);

        Assert.False(store.IsConnected);
        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
        Assert.Single(logs.GetSnapshot(), record => record.Id.Id == 2005);

        // On a busy host the first attempt can time out before Redis replies to AUTH, so a later attempt reports it.
        Assert.True(
            await PollAsync(() => store.LastConnectionError?.StartsWith(nameof(ConnectionFailureType.AuthenticationFailure), StringComparison.Ordinal) == true),
            $"The last connection error is '{store.LastConnectionError}'.");
        Assert.True(await PollAsync(() => logs.GetSnapshot().Any(record => record.Id.Id == 2014)), "Event 2014 was not logged.");
        Assert.Single(logs.GetSnapshot(), record => record.Id.Id == 2014);
        Assert.DoesNotContain(WrongPassword, store.LastConnectionError, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.GetSnapshot(), record => $"{record.Message} {record.Exception}".Contains(WrongPassword, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.GetSnapshot(), record => $"{record.Message} {record.Exception}".Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AclUser_MinimalRules_EveryOperationAllowed()
    {
        SkipWithoutRedis();
        await using var server = await StartAclServerAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(
            $"{server.Configuration},user=admin,password={AdminPassword},allowAdmin=true");
        var configuration = $"{server.Configuration},user=tandem,password={Password},$CONFIG=,$CLUSTER=";
        var prefix = $"tandem:{Guid.NewGuid():N}:";
        var metricsB = new SessionStoreMetrics();
        await using var storeA = await ConnectAsync(configuration, prefix);
        await using var storeB = await ConnectAsync(configuration + ",name=acl-node-b", prefix, metricsB);
        Assert.True(await PollAsync(() => storeA.IsConnected && storeB.IsConnected), "The stores did not connect as the ACL user.");
        var cacheB = new InProcessAffinityStore(TimeProvider.System, capacity: 100);
        storeB.AttachLocalCache(cacheB);
        var cancellationToken = TestContext.Current.CancellationToken;
        var sessionId = NewSessionId();

        // Affinity pins, their change hints, and the revalidation after a reconnect.
        Assert.Equal(AffinityWriteStatus.Stored, await storeA.SetAsync("backends", sessionId, "b1", TimeToLive, cancellationToken));
        cacheB.Set("backends", sessionId, "b0", TimeToLive);
        Assert.Equal("b1", (await storeB.GetAsync("backends", sessionId, cancellationToken)).DestinationId);
        Assert.True(await PollAsync(() => metricsB.GetHints(ChangeHintOutcome.Applied) >= 1), "Node B received no hint.");
        cacheB.Set("backends", sessionId, "b0", TimeToLive);
        var revalidations = metricsB.Revalidations;
        await KillConnectionsAsync(admin, server, "acl-node-b");
        Assert.True(await PollAsync(() => metricsB.Revalidations > revalidations), "Node B did not revalidate its cache.");
        Assert.False(cacheB.TryGet("backends", sessionId, out _, out _), "The revalidation kept a pin that Redis has with another destination.");

        // Heartbeats and the round-trip probe.
        var heartbeats = storeA.CreateHeartbeatStore(NullLoggerFactory.Instance);
        Assert.True(await heartbeats.PublishAsync("node-a", new byte[] { 1, 2, 3 }, TimeToLive, cancellationToken), "Publishing a heartbeat failed.");
        var read = await heartbeats.ReadAllAsync(cancellationToken);
        Assert.Contains(read.Heartbeats, heartbeat => heartbeat.NodeName == "node-a");
        Assert.NotNull(await heartbeats.PingAsync(cancellationToken));
        Assert.True(await heartbeats.RemoveAsync("node-a", cancellationToken), $"Removing a heartbeat failed: {DescribeAclLog(await admin.GetDatabase().ExecuteAsync("ACL", "LOG"))}");

        // TLS ticket keys, whose script StackExchange.Redis runs with EVAL, SCRIPT LOAD and EVALSHA.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storage = await RedisTicketKeyStorage.ConnectAsync(
            new SessionStoreOptions { Redis = configuration, KeyPrefix = prefix }, NullLoggerFactory.Instance, time, cancellationToken);
        await using var ring = new TicketKeyRing(storage, new TicketKeyOptions(), time, new FakeLogger());
        await ring.RefreshAsync(cancellationToken);
        time.Advance(TimeSpan.FromHours(12));
        await ring.RefreshAsync(cancellationToken);
        Assert.False(ring.Current.IsDegraded);

        var denied = await admin.GetDatabase().ExecuteAsync("ACL", "LOG");
        Assert.True(((RedisResult[])denied!).Length == 0, $"Redis denied commands: {DescribeAclLog(denied)}");
    }

    [Fact]
    public async Task AclUser_OtherPrefix_Denied()
    {
        SkipWithoutRedis();
        await using var server = await StartAclServerAsync();
        var metrics = new SessionStoreMetrics();
        await using var store = await ConnectAsync($"{server.Configuration},user=tandem,password={Password}", "other:", metrics);
        Assert.True(await PollAsync(() => store.IsConnected), $"The store did not connect: {store.LastConnectionError}");

        var write = await store.SetAsync("backends", NewSessionId(), "b1", TimeToLive, TestContext.Current.CancellationToken);

        Assert.Equal(AffinityWriteStatus.Unavailable, write);
        Assert.Equal(1, metrics.GetFailures(StoreOperation.Set, StoreFailureReason.ServerError));
    }

    private static Task<RedisServer> StartAclServerAsync() =>
        RedisServer.StartAsync(
            RedisServer.GetFreePort(),
            [
                "--user", "default", "off",
                "--user", "admin", "on", $">{AdminPassword}", "~*", "&*", "+@all",
                "--user", "tandem", "on", $">{Password}", .. MinimalAclRules,
            ]);

    private static void SkipWithoutRedis()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    private static Task<RedisAffinityStore> ConnectAsync(string configuration, string prefix, SessionStoreMetrics? metrics = null) =>
        RedisAffinityStore.ConnectAsync(
            // A long operation timeout, so that a slow reply on a busy machine is not counted as a failure.
            new SessionStoreOptions { Redis = configuration, KeyPrefix = prefix, OperationTimeoutMilliseconds = 2000 },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            metrics ?? new SessionStoreMetrics(),
            TestContext.Current.CancellationToken);

    private static async Task KillConnectionsAsync(IConnectionMultiplexer admin, RedisServer server, string clientName)
    {
        var redis = admin.GetServer("127.0.0.1", server.Port);
        foreach (var client in await redis.ClientListAsync())
        {
            if (client.Name == clientName)
            {
                await redis.ClientKillAsync(client.Id);
            }
        }
    }

    private static async Task<bool> PollAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return true;
    }

    private static string DescribeAclLog(RedisResult? log) =>
        string.Join("; ", ((RedisResult[])log!).Select(entry =>
        {
            var fields = (RedisResult[])entry!;
            var values = new Dictionary<string, string>();
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                values[fields[i].ToString()] = fields[i + 1].ToString();
            }

            return $"{values.GetValueOrDefault("reason")} {values.GetValueOrDefault("object")} ({values.GetValueOrDefault("context")})";
        }));

    private static string NewSessionId() => Guid.NewGuid().ToString("N");
}
