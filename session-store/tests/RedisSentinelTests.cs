using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Tandem.SessionStore.Tests;

/// <summary>
/// The affinity store through Sentinel: a primary, a replica and three sentinels on loopback ports of this run. The
/// test kills the primary by PID while it keeps writing and reading pins, and measures how long writes fail.
/// </summary>
public sealed class RedisSentinelTests : IAsyncLifetime
{
    private const int SentinelCount = 3;
    private const int PinsBeforeKill = 20;
    private const int MaxCallsAfterKill = 3000;
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CallPeriod = TimeSpan.FromMilliseconds(20);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"tandem-sentinel-{Guid.NewGuid():N}");
    private readonly string _serviceName = $"tandem-{Guid.NewGuid():N}"[..20];
    private readonly List<RedisServer> _sentinels = [];
    private RedisServer? _primary;
    private RedisServer? _replica;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.GetSkipReason() is not null)
        {
            return;
        }

        Directory.CreateDirectory(_directory);
        _primary = await RedisServer.StartAsync(RedisServer.GetFreePort());
        _replica = await RedisServer.StartAsync(
            RedisServer.GetFreePort(), "--replicaof", "127.0.0.1", _primary.Port.ToString(CultureInfo.InvariantCulture));

        for (var i = 0; i < SentinelCount; i++)
        {
            var port = RedisServer.GetFreePort();
            var configurationFile = Path.Combine(_directory, $"sentinel-{port}.conf");

            // Quorum 2 of 3. Down after one second and a short failover timeout keep the test fast.
            await File.WriteAllLinesAsync(configurationFile,
            [
                $"sentinel monitor {_serviceName} 127.0.0.1 {_primary.Port} 2",
                $"sentinel down-after-milliseconds {_serviceName} 1000",
                $"sentinel failover-timeout {_serviceName} 5000",
                $"sentinel parallel-syncs {_serviceName} 1",
                "sentinel announce-ip 127.0.0.1",
            ]);
            _sentinels.Add(await RedisServer.StartSentinelAsync(port, configurationFile));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _sentinels.Concat([_primary, _replica]))
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task PrimaryKilled_WritesMoveToReplica()
    {
        if (RedisServer.GetSkipReason() is { } reason)
        {
            Assert.Skip(reason);
        }

        var primary = _primary!;
        var replica = _replica!;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(
            $"127.0.0.1:{primary.Port},127.0.0.1:{replica.Port},allowAdmin=true,abortConnect=false");
        Assert.True(await WaitForSentinelsAsync(cancellationToken), "The sentinels did not find the replica and each other.");

        var sentinels = string.Join(",", _sentinels.Select(sentinel => $"127.0.0.1:{sentinel.Port}"));
        var metrics = new SessionStoreMetrics();
        await using var store = await RedisAffinityStore.ConnectAsync(
            new SessionStoreOptions { Redis = $"{sentinels},serviceName={_serviceName}", KeyPrefix = "sentinel:" },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            metrics,
            cancellationToken);
        Assert.True(store.IsConnected, $"The store did not connect through Sentinel: {store.LastConnectionError}");

        var pinned = new List<string>();
        for (var i = 0; i < PinsBeforeKill; i++)
        {
            var sessionId = Guid.NewGuid().ToString("N");
            Assert.Equal(AffinityWriteStatus.Stored, await store.SetAsync("backends", sessionId, "b1", TimeToLive, cancellationToken));
            pinned.Add(sessionId);
        }

        // WAIT returns once the replica has every write so far, so the pins survive the failover.
        var acknowledged = await admin.GetServer("127.0.0.1", primary.Port).ExecuteAsync("WAIT", 1, 5000);
        Assert.Equal(1, (int)acknowledged);

        await primary.KillAsync();
        var sinceKill = Stopwatch.StartNew();
        TimeSpan? writesBackAfter = null;
        var failedWrites = 0;
        var calls = 0;
        while (writesBackAfter is null && sinceKill.Elapsed < FailoverTimeout && calls < MaxCallsAfterKill)
        {
            calls++;

            // Any exception other than the caller's cancellation fails the test here.
            var write = await store.SetAsync("backends", Guid.NewGuid().ToString("N"), "b2", TimeToLive, cancellationToken);
            if (write == AffinityWriteStatus.Stored)
            {
                writesBackAfter = sinceKill.Elapsed;
                break;
            }

            failedWrites++;
            await store.GetAsync("backends", pinned[calls % pinned.Count], cancellationToken);
            await Task.Delay(CallPeriod, cancellationToken);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Writes failed for {writesBackAfter?.TotalMilliseconds:F0} ms after the kill ({failedWrites} failed writes, {calls} calls).");
        Assert.True(writesBackAfter is not null, $"No write succeeded within {FailoverTimeout} after the primary was killed.");
        Assert.True(failedWrites > 0, "No write failed, so the store never noticed the kill.");

        var newPrimary = admin.GetServer("127.0.0.1", replica.Port);
        Assert.Equal("master", (await newPrimary.ExecuteAsync("ROLE"))[0].ToString());
        // Right after the switch a busy host can still miss the operation bound now and then, so each call below may
        // be retried a few times. A store that kept writing to the old primary would fail every attempt.
        var sessionAfter = Guid.NewGuid().ToString("N");
        Assert.Equal(
            AffinityWriteStatus.Stored,
            await RetryAsync(() => store.SetAsync("backends", sessionAfter, "b3", TimeToLive, cancellationToken), status => status == AffinityWriteStatus.Stored, cancellationToken));
        Assert.Equal("b3", (await admin.GetDatabase().StringGetAsync(store.CreateKey("backends", sessionAfter))).ToString());
        foreach (var sessionId in pinned)
        {
            var lookup = await RetryAsync(() => store.GetAsync("backends", sessionId, cancellationToken), found => found.Status != AffinityLookupStatus.Unavailable, cancellationToken);
            Assert.Equal(AffinityLookupStatus.Found, lookup.Status);
            Assert.Equal("b1", lookup.DestinationId);
        }
    }

    /// <summary>Calls <paramref name="operation"/> up to five times, 100 ms apart, until <paramref name="done"/> holds.</summary>
    private static async Task<T> RetryAsync<T>(Func<ValueTask<T>> operation, Func<T, bool> done, CancellationToken cancellationToken)
    {
        var result = await operation();
        for (var attempt = 1; attempt < 5 && !done(result); attempt++)
        {
            await Task.Delay(100, cancellationToken);
            result = await operation();
        }

        return result;
    }

    /// <summary>Waits until every sentinel lists the replica and the two other sentinels, which a failover needs.</summary>
    private async Task<bool> WaitForSentinelsAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < SetupTimeout)
        {
            var ready = true;
            foreach (var sentinel in _sentinels)
            {
                var replicas = await sentinel.SendCommandAsync("SENTINEL", "REPLICAS", _serviceName);
                var peers = await sentinel.SendCommandAsync("SENTINEL", "SENTINELS", _serviceName);

                // The first line of an array reply is its length, such as *2.
                ready &= replicas == "*1" && peers == $"*{SentinelCount - 1}";
            }

            if (ready)
            {
                return true;
            }

            await Task.Delay(100, cancellationToken);
        }

        return false;
    }
}
