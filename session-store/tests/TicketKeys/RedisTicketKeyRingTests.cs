using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.SessionStore.Tests.TicketKeys;

public sealed class RedisTicketKeyRingTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private static readonly TicketKeyOptions Options = new()
    {
        RotationInterval = TimeSpan.FromHours(12),
        Overlap = 2,
    };

    [Fact]
    public async Task CreationRace_TwoNodesGetSameKey()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storageA = await ConnectAsync(server.Configuration, prefix, time);
        await using var storageB = await ConnectAsync(server.Configuration, prefix, time);
        await using var ringA = new TicketKeyRing(storageA, Options, time, new FakeLogger());
        await using var ringB = new TicketKeyRing(storageB, Options, time, new FakeLogger());

        await Task.WhenAll(
            ringA.RefreshAsync(TestContext.Current.CancellationToken),
            ringB.RefreshAsync(TestContext.Current.CancellationToken));

        Assert.False(ringA.Current.IsDegraded);
        Assert.False(ringB.Current.IsDegraded);
        Assert.True(ringA.Current.Encryption.Name.SequenceEqual(ringB.Current.Encryption.Name));
        Assert.True(ringA.Current.Encryption.AesKey.SequenceEqual(ringB.Current.Encryption.AesKey));
    }

    [Fact]
    public async Task Rotation_OtherNodeDecryptsOldAndNewKeys()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storageA = await ConnectAsync(server.Configuration, prefix, time);
        await using var storageB = await ConnectAsync(server.Configuration, prefix, time);
        await using var ringA = new TicketKeyRing(storageA, Options, time, new FakeLogger());
        await using var ringB = new TicketKeyRing(storageB, Options, time, new FakeLogger());
        await ringA.RefreshAsync(TestContext.Current.CancellationToken);
        var first = ringA.Current.Encryption;

        time.Advance(Options.RotationInterval);
        await ringA.RefreshAsync(TestContext.Current.CancellationToken);
        await ringB.RefreshAsync(TestContext.Current.CancellationToken);

        Assert.Equal(first.Epoch + 1, ringB.Current.Encryption.Epoch);
        Assert.True(ringA.Current.Encryption.Name.SequenceEqual(ringB.Current.Encryption.Name));
        Assert.NotNull(ringB.Current.Find(first.Name));
    }

    [Fact]
    public async Task Retirement_KeyBeyondOverlapIsDropped()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storage = await ConnectAsync(server.Configuration, prefix, time);
        await using var ring = new TicketKeyRing(storage, Options, time, new FakeLogger());
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var first = ring.Current.Encryption;

        time.Advance(Options.RotationInterval * Options.Overlap);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var lastAccepting = ring.Current.Find(first.Name);
        time.Advance(Options.RotationInterval);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(lastAccepting);
        Assert.Null(ring.Current.Find(first.Name));
    }

    [Fact]
    public async Task Restart_NewRingReadsSameKeys()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        byte[] before;
        await using (var storage = await ConnectAsync(server.Configuration, prefix, time))
        await using (var ring = new TicketKeyRing(storage, Options, time, new FakeLogger()))
        {
            await ring.RefreshAsync(TestContext.Current.CancellationToken);
            before = ring.Current.Encryption.Name.ToArray();
        }

        await using var restartedStorage = await ConnectAsync(server.Configuration, prefix, time);
        await using var restarted = new TicketKeyRing(restartedStorage, Options, time, new FakeLogger());
        await restarted.RefreshAsync(TestContext.Current.CancellationToken);

        Assert.Equal(before, restarted.Current.Encryption.Name.ToArray());
    }

    [Fact]
    public async Task Storage_WritesPrefixedKeyWithExpiry()
    {
        var server = fixture.Require();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storage = await ConnectAsync(server.Configuration, prefix, time);
        await using var ring = new TicketKeyRing(storage, Options, time, new FakeLogger());
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);

        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var key = $"{prefix}tls-ticket-key:{ring.Current.Encryption.Epoch}";
        var value = (byte[]?)await inspector.GetDatabase().StringGetAsync(key);
        var expiry = await inspector.GetDatabase().KeyTimeToLiveAsync(key);

        Assert.NotNull(value);
        Assert.Equal(TicketKey.MaterialLength, value.Length);
        Assert.NotNull(expiry);
        Assert.InRange(expiry.Value, Options.RotationInterval * 3, Options.RotationInterval * 4);
    }

    [Fact]
    public async Task RedisDown_KeepsCachedKeys()
    {
        fixture.Require();
        await using var server = await RedisServer.StartAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        var logger = new FakeLogger();
        await using var storage = await ConnectAsync(server.Configuration, NewPrefix(), time);
        await using var ring = new TicketKeyRing(storage, Options, time, logger);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var cached = ring.Current.Encryption;

        await server.KillAsync();
        time.Advance(Options.RotationInterval);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var set = ring.Current;

        Assert.True(set.IsDegraded);
        Assert.Same(cached, set.Encryption);
        Assert.False(set.Encryption.IsLocal);
        Assert.Contains(logger.Collector.GetSnapshot(), record => record.Id.Id == 2101);
        AssertNoKeyMaterial(logger, cached);
    }

    [Fact]
    public async Task RedisDownAtStart_UsesLocalKey()
    {
        fixture.Require();
        var port = RedisServer.GetFreePort();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        var logger = new FakeLogger();
        await using var storage = await ConnectAsync($"127.0.0.1:{port}", NewPrefix(), time);
        await using var ring = new TicketKeyRing(storage, Options, time, logger);

        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var set = ring.Current;

        Assert.True(set.IsDegraded);
        Assert.True(set.Encryption.IsLocal);
        Assert.StartsWith("local-", set.Encryption.Id, StringComparison.Ordinal);
        Assert.Contains(logger.Collector.GetSnapshot(), record => record.Id.Id == 2102);
        AssertNoKeyMaterial(logger, set.Encryption);
    }

    [Fact]
    public async Task RedisBack_LeavesDegradedState()
    {
        fixture.Require();
        var port = RedisServer.GetFreePort();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storage = await ConnectAsync($"127.0.0.1:{port}", NewPrefix(), time);
        await using var ring = new TicketKeyRing(storage, Options, time, new FakeLogger());
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var local = ring.Current.Encryption;

        await using var server = await RedisServer.StartAsync(port);
        var recovered = false;
        for (var attempt = 0; attempt < 100 && !recovered; attempt++)
        {
            // StackExchange.Redis reconnects on its own real-time schedule, so this polls a bounded number of times.
            await Task.Delay(100, TestContext.Current.CancellationToken);
            await ring.RefreshAsync(TestContext.Current.CancellationToken);
            recovered = !ring.Current.IsDegraded;
        }

        Assert.True(recovered, "the ring stayed degraded for 10 s after Redis started");
        Assert.False(ring.Current.Encryption.IsLocal);
        Assert.NotNull(ring.Current.Find(local.Name));
    }

    [Fact]
    public async Task RedisFlushed_WritesCachedKeysBack()
    {
        fixture.Require();
        await using var server = await RedisServer.StartAsync();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        var logger = new FakeLogger();
        await using var storage = await ConnectAsync(server.Configuration, prefix, time);
        await using var ring = new TicketKeyRing(storage, Options, time, logger);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var older = ring.Current.Encryption;
        time.Advance(Options.RotationInterval);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var current = ring.Current.Encryption;

        Assert.Equal("+OK", await server.SendCommandAsync("FLUSHALL"));
        time.Advance(TimeSpan.FromMinutes(1));
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var set = ring.Current;
        var storedCurrent = (byte[]?)await inspector.GetDatabase().StringGetAsync($"{prefix}tls-ticket-key:{current.Epoch}");
        var storedOlder = (byte[]?)await inspector.GetDatabase().StringGetAsync($"{prefix}tls-ticket-key:{older.Epoch}");
        var expiry = await inspector.GetDatabase().KeyTimeToLiveAsync($"{prefix}tls-ticket-key:{older.Epoch}");

        Assert.False(set.IsDegraded);
        Assert.Equal(Material(current), storedCurrent);
        Assert.Equal(Material(older), storedOlder);
        Assert.Equal(Material(current), Material(set.Encryption));
        Assert.NotNull(set.Find(older.Name));
        Assert.Equal(Material(older), Material(set.Find(older.Name)!));
        Assert.NotNull(expiry);
        Assert.InRange(expiry.Value, Options.RotationInterval * 2, Options.RotationInterval * 3);
        Assert.Equal(2, logger.Collector.GetSnapshot().Count(record => record.Id.Id == 2107));
        AssertNoKeyMaterial(logger, current);
        AssertNoKeyMaterial(logger, older);
    }

    [Fact]
    public async Task RedisRestartedEmpty_RestartedNodeReadsOldKey()
    {
        fixture.Require();
        var port = RedisServer.GetFreePort();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        var server = await RedisServer.StartAsync(port);
        try
        {
            await using var storage = await ConnectAsync(server.Configuration, prefix, time);
            await using var ring = new TicketKeyRing(storage, Options, time, new FakeLogger());
            await ring.RefreshAsync(TestContext.Current.CancellationToken);
            var before = ring.Current.Encryption;

            await server.KillAsync();
            await server.DisposeAsync();
            server = await RedisServer.StartAsync(port);
            var restored = false;
            for (var attempt = 0; attempt < 100 && !restored; attempt++)
            {
                // StackExchange.Redis reconnects on its own real-time schedule, so this polls a bounded number of times.
                await Task.Delay(100, TestContext.Current.CancellationToken);
                await ring.RefreshAsync(TestContext.Current.CancellationToken);
                restored = !ring.Current.IsDegraded;
            }

            await using var restartedStorage = await ConnectAsync(server.Configuration, prefix, time);
            await using var restartedRing = new TicketKeyRing(restartedStorage, Options, time, new FakeLogger());
            await restartedRing.RefreshAsync(TestContext.Current.CancellationToken);

            Assert.True(restored, "the ring stayed degraded for 10 s after Redis restarted");
            Assert.Equal(Material(before), Material(ring.Current.Encryption));
            Assert.False(restartedRing.Current.IsDegraded);
            Assert.Equal(Material(before), Material(restartedRing.Current.Encryption));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task RedisFlushed_TwoNodesWriteBackSameKey()
    {
        fixture.Require();
        await using var server = await RedisServer.StartAsync();
        var prefix = NewPrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var storageA = await ConnectAsync(server.Configuration, prefix, time);
        await using var storageB = await ConnectAsync(server.Configuration, prefix, time);
        await using var ringA = new TicketKeyRing(storageA, Options, time, new FakeLogger());
        await using var ringB = new TicketKeyRing(storageB, Options, time, new FakeLogger());
        await ringA.RefreshAsync(TestContext.Current.CancellationToken);
        await ringB.RefreshAsync(TestContext.Current.CancellationToken);
        var before = Material(ringA.Current.Encryption);

        Assert.Equal("+OK", await server.SendCommandAsync("FLUSHALL"));
        await Task.WhenAll(
            ringA.RefreshAsync(TestContext.Current.CancellationToken),
            ringB.RefreshAsync(TestContext.Current.CancellationToken));

        Assert.False(ringA.Current.IsDegraded);
        Assert.False(ringB.Current.IsDegraded);
        Assert.Equal(before, Material(ringA.Current.Encryption));
        Assert.Equal(before, Material(ringB.Current.Encryption));
    }

    private static byte[] Material(TicketKey key) => [.. key.Name, .. key.AesKey, .. key.HmacKey];

    private static void AssertNoKeyMaterial(FakeLogger logger, TicketKey key)
    {
        var secrets = new[]
        {
            Convert.ToHexString(key.Name), Convert.ToHexString(key.AesKey), Convert.ToBase64String(key.AesKey),
            Convert.ToHexString(key.HmacKey), Convert.ToBase64String(key.HmacKey),
        };
        foreach (var record in logger.Collector.GetSnapshot())
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, record.Message, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    private static string NewPrefix() => $"t{Guid.NewGuid():N}:";

    private static async Task<RedisTicketKeyStorage> ConnectAsync(string configuration, string prefix, TimeProvider time) =>
        await RedisTicketKeyStorage.ConnectAsync(
            new SessionStoreOptions { Redis = configuration, KeyPrefix = prefix, ConnectTimeoutMilliseconds = 500 },
            NullLoggerFactory.Instance,
            time,
            TestContext.Current.CancellationToken);
}
