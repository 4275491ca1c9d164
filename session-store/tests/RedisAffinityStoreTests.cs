using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Tandem.SessionStore.Tests;

public sealed class RedisAffinityStoreTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task SetThenGet_ReturnsDestination()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);
        var sessionId = NewSessionId();

        var write = await store.SetAsync("backends", sessionId, "b2", TimeToLive, TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);

        Assert.Equal(AffinityWriteStatus.Stored, write);
        Assert.Equal(AffinityLookupStatus.Found, lookup.Status);
        Assert.Equal("b2", lookup.DestinationId);
    }

    [Fact]
    public async Task Get_UnknownSession_ReturnsNotFound()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);

        var lookup = await store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.NotFound, lookup.Status);
        Assert.Null(lookup.DestinationId);
    }

    [Fact]
    public async Task Get_OtherCluster_ReturnsNotFound()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);
        var sessionId = NewSessionId();
        await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);

        var lookup = await store.GetAsync("other", sessionId, TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.NotFound, lookup.Status);
    }

    [Fact]
    public async Task Set_ReplacesEarlierPin()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);
        var sessionId = NewSessionId();

        await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);
        await store.SetAsync("backends", sessionId, "b3", TimeToLive, TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);

        Assert.Equal("b3", lookup.DestinationId);
    }

    [Fact]
    public async Task Set_WritesPrefixedKeyWithExpiry()
    {
        var server = fixture.Require();
        await using var store = await ConnectAsync(server.Configuration, keyPrefix: "lab1:");
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var sessionId = NewSessionId();

        await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);
        var key = $"lab1:affinity:backends:{sessionId}";
        var value = await inspector.GetDatabase().StringGetAsync(key);
        var expiry = await inspector.GetDatabase().KeyTimeToLiveAsync(key);

        Assert.Equal("b1", value.ToString());
        Assert.NotNull(expiry);
        Assert.InRange(expiry.Value, TimeToLive - TimeSpan.FromSeconds(10), TimeToLive);
    }

    [Fact]
    public async Task Get_AfterServerExpiry_ReturnsNotFound()
    {
        var server = fixture.Require();
        await using var store = await ConnectAsync(server.Configuration);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var sessionId = NewSessionId();
        await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken);

        // Move the key's expiry into the past, which is what Redis does when the TTL runs out, without waiting.
        await inspector.GetDatabase().KeyExpireAsync(store.CreateKey("backends", sessionId), DateTime.UtcNow.AddSeconds(-1));
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.NotFound, lookup.Status);
    }

    [Fact]
    public async Task Get_PausedServer_TimesOutOnInjectedClock()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        // A server of its own: the pause outlives this test and would stall the next test on a shared server.
        await using var server = await RedisServer.StartAsync();
        var clock = new FakeTimeProvider();
        var metrics = new SessionStoreMetrics();
        await using var store = await ConnectAsync(server.Configuration, clock, metrics);
        await store.SetAsync("backends", "warm-up", "b1", TimeToLive, TestContext.Current.CancellationToken);

        // CLIENT PAUSE blocks every client's commands for the given milliseconds, like an overloaded server.
        Assert.Equal("+OK", await server.SendCommandAsync("CLIENT", "PAUSE", "1500", "ALL"));
        var pending = store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken).AsTask();
        Assert.False(pending.IsCompleted);

        clock.Advance(TimeSpan.FromMilliseconds(250));
        var lookup = await pending.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
        Assert.Equal(1, metrics.GetFailures(StoreOperation.Get, StoreFailureReason.Timeout));
    }

    [Fact]
    public async Task Get_CancelledByCaller_Throws()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await store.GetAsync("backends", NewSessionId(), cancellation.Token));
    }

    [Fact]
    public async Task Set_CancelledByCaller_Throws()
    {
        await using var store = await ConnectAsync(fixture.Require().Configuration);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await store.SetAsync("backends", NewSessionId(), "b1", TimeToLive, cancellation.Token));
    }

    [Fact]
    public async Task ServerKilled_OperationsReturnUnavailableQuickly()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        await using var server = await RedisServer.StartAsync();
        var metrics = new SessionStoreMetrics();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        await using var store = await RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = server.Configuration },
            loggerFactory,
            TimeProvider.System,
            metrics,
            TestContext.Current.CancellationToken);
        var sessionId = NewSessionId();
        Assert.Equal(
            AffinityWriteStatus.Stored,
            await store.SetAsync("backends", sessionId, "b1", TimeToLive, TestContext.Current.CancellationToken));

        await server.KillAsync();
        var elapsed = Stopwatch.StartNew();
        var lookup = await store.GetAsync("backends", sessionId, TestContext.Current.CancellationToken);
        var write = await store.SetAsync("backends", NewSessionId(), "b2", TimeToLive, TestContext.Current.CancellationToken);
        elapsed.Stop();

        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
        Assert.Equal(AffinityWriteStatus.Unavailable, write);
        // Two operations, each bounded by the 250 ms operation timeout, plus scheduling slack.
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"Operations took {elapsed.Elapsed}.");
        Assert.Equal(
            1,
            metrics.GetFailures(StoreOperation.Get, StoreFailureReason.ConnectionFailed)
            + metrics.GetFailures(StoreOperation.Get, StoreFailureReason.Timeout));
        Assert.Contains(logs.GetSnapshot(), record => record.Id.Id == 2004);

        // Session ids are cookie values, so no log line may contain one.
        Assert.DoesNotContain(logs.GetSnapshot(), record => FormatWithException(record).Contains(sessionId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerKilled_LogsEachFailureOnceBriefly()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        await using var server = await RedisServer.StartAsync();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        await using var store = await RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = server.Configuration },
            loggerFactory,
            TimeProvider.System,
            new SessionStoreMetrics(),
            TestContext.Current.CancellationToken);
        var connectionFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.ConnectivityChanged += () => connectionFailed.TrySetResult();

        await server.KillAsync();
        await connectionFailed.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken);

        // The interactive and the subscription connection fail at the same time on two threads, and the event of
        // the one whose line the limiter holds back can arrive before the other thread wrote its line.
        var deadline = Stopwatch.StartNew();
        while (!logs.GetSnapshot().Any(record => record.Id.Id == 2002) && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        var connectionLine = logs.GetSnapshot().First(record => record.Id.Id == 2002);
        var operationLine = logs.GetSnapshot().First(record => record.Id.Id == 2004);
        Assert.DoesNotContain("not logged", connectionLine.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not logged", operationLine.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("v: ", connectionLine.Message, StringComparison.Ordinal);
        var failureType = connectionLine.GetStructuredStateValue("FailureType")!;
        Assert.Equal(1, CountOccurrences(connectionLine.Message, failureType));
        Assert.DoesNotContain("v: ", store.LastConnectionError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ConnectionFailureType.SocketClosed, "SocketClosed (ReadEndOfStream, last-recv: 0) on 127.0.0.1:6379/Interactive, v: 3.4.35", "ReadEndOfStream")]
    [InlineData(ConnectionFailureType.SocketClosed, "SocketClosed (ReadEndOfStream) on 127.0.0.1:6379", "ReadEndOfStream")]
    [InlineData(ConnectionFailureType.SocketClosed, "SocketClosed, v: 3.4.35.1", "no further detail")]
    [InlineData(ConnectionFailureType.UnableToConnect, "It was not possible to connect to the redis server(s).", "no further detail")]
    public void DescribeCause_ShortensLibraryMessage(ConnectionFailureType failureType, string message, string expected)
    {
        Assert.Equal(expected, RedisAffinityStore.DescribeCause(failureType, new RedisConnectionException(failureType, CommandFlags.None, message, null, CommandStatus.Unknown)));
    }

    [Fact]
    public void DescribeCause_PrefersInnerException()
    {
        var exception = new RedisConnectionException(
            ConnectionFailureType.SocketFailure,
            CommandFlags.None,
            "SocketFailure (Connection refused) on 127.0.0.1:6379, v: 3.4.35",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused),
            CommandStatus.Unknown);

        Assert.Equal("Connection refused", RedisAffinityStore.DescribeCause(ConnectionFailureType.SocketFailure, exception));
    }

    [Fact]
    public async Task Connect_NothingListening_StartsAndReportsUnavailable()
    {
        var port = RedisServer.GetFreePort();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        var options = new SessionStoreOptions
        {
            Redis = $"127.0.0.1:{port},password=hunter2-secret",
            ConnectTimeoutMilliseconds = 300,
        };

        var elapsed = Stopwatch.StartNew();
        await using var store = await RedisAffinityStore.ConnectAsync(
            options, loggerFactory, TimeProvider.System, new SessionStoreMetrics(), TestContext.Current.CancellationToken);
        var lookup = await store.GetAsync("backends", NewSessionId(), TestContext.Current.CancellationToken);
        elapsed.Stop();

        Assert.Equal(AffinityLookupStatus.Unavailable, lookup.Status);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"Connect and lookup took {elapsed.Elapsed}.");
        Assert.Contains(logs.GetSnapshot(), record => record.Id.Id == 2005);
        Assert.DoesNotContain(logs.GetSnapshot(), record => FormatWithException(record).Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateConfiguration_OverridesSettingsTheStoreNeeds()
    {
        var configuration = RedisAffinityStore.CreateConfiguration(new SessionStoreOptions
        {
            Redis = "198.51.100.20:6379,abortConnect=true,connectTimeout=60000",
            ConnectTimeoutMilliseconds = 1500,
            OperationTimeoutMilliseconds = 200,
        });

        Assert.False(configuration.AbortOnConnectFail);
        Assert.Equal(1500, configuration.ConnectTimeout);
        Assert.Same(BacklogPolicy.FailFast, configuration.BacklogPolicy);
        Assert.Equal(1000, configuration.AsyncTimeout);
        Assert.Equal("", configuration.TieBreaker);
        Assert.Equal("tandem:redis-configuration", configuration.ConfigurationChannel);
    }

    private static Task<RedisAffinityStore> ConnectAsync(string configuration, string keyPrefix = "test:") =>
        ConnectAsync(configuration, TimeProvider.System, new SessionStoreMetrics(), keyPrefix);

    private static Task<RedisAffinityStore> ConnectAsync(
        string configuration,
        TimeProvider timeProvider,
        SessionStoreMetrics metrics,
        string keyPrefix = "test:")
    {
        var options = new SessionStoreOptions { Redis = configuration, KeyPrefix = keyPrefix };
        return RedisAffinityStore.ConnectAsync(
            options, NullLoggerFactory.Instance, timeProvider, metrics, TestContext.Current.CancellationToken);
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string NewSessionId() => Guid.NewGuid().ToString("N");

    // Exception messages end up in log output too, so secrets are searched for in both.
    private static string FormatWithException(FakeLogRecord record) => $"{record.Message} {record.Exception}";
}
