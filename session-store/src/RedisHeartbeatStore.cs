using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Tandem.SessionStore;

/// <summary>
/// Heartbeats in Redis. Each node writes <c>{KeyPrefix}heartbeat:{nodeName}</c> with a Redis expiry and adds its name
/// to the set <c>{KeyPrefix}heartbeat-nodes</c>, so readers find the heartbeats without scanning the keyspace, which
/// also holds every affinity pin.
/// </summary>
/// <remarks>
/// The value is the expiry in milliseconds (4 bytes, big-endian) followed by the payload. A reader takes the age as
/// that expiry minus the remaining PTTL, both on the Redis server's clock, so clock differences between nodes do not
/// matter. Each command waits at most the operation timeout, measured on the injected <see cref="TimeProvider"/>,
/// and failures are counted in <see cref="SessionStoreMetrics"/> and logged at most once per operation and reason
/// every 30 seconds.
/// </remarks>
public sealed partial class RedisHeartbeatStore : IHeartbeatStore
{
    /// <summary>Names read from the index at most, so a polluted index cannot make a read unbounded.</summary>
    public const int MaxNodes = 64;

    private const int HeaderLength = 4;
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(30);

    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly string _keyPrefix;
    private readonly RedisKey _indexKey;
    private readonly TimeSpan _operationTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly SessionStoreMetrics _metrics;
    private readonly ILogger _logger;
    private readonly FailureLogLimiter<(StoreOperation, StoreFailureReason)> _failureLogLimiter;

    internal RedisHeartbeatStore(
        IConnectionMultiplexer connection,
        string keyPrefix,
        TimeSpan operationTimeout,
        ILogger logger,
        TimeProvider timeProvider,
        SessionStoreMetrics metrics)
    {
        _connection = connection;
        _database = connection.GetDatabase();
        _keyPrefix = keyPrefix;
        _indexKey = keyPrefix + "heartbeat-nodes";
        _operationTimeout = operationTimeout;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _failureLogLimiter = new(timeProvider, FailureLogInterval);
    }

    public async ValueTask<bool> PublishAsync(
        string nodeName,
        ReadOnlyMemory<byte> payload,
        TimeSpan timeToLive,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var milliseconds = (uint)Math.Min(uint.MaxValue, Math.Ceiling(timeToLive.TotalMilliseconds));
        var value = new byte[HeaderLength + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(value, milliseconds);
        payload.Span.CopyTo(value.AsSpan(HeaderLength));

        try
        {
            // Both commands go out in one write; the heartbeat is readable only once its name is in the index.
            var set = _database.StringSetAsync(CreateKey(nodeName), value, TimeSpan.FromMilliseconds(milliseconds));
            var index = _database.SetAddAsync(_indexKey, nodeName);
            await Wait(WhenAllAsync(set, index), cancellationToken);
            return true;
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.HeartbeatPublish, reason, exception);
            return false;
        }
    }

    public async ValueTask<bool> RemoveAsync(string nodeName, CancellationToken cancellationToken)
    {
        try
        {
            var delete = _database.KeyDeleteAsync(CreateKey(nodeName));
            var index = _database.SetRemoveAsync(_indexKey, nodeName);
            await Wait(WhenAllAsync(delete, index), cancellationToken);
            return true;
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.HeartbeatRemove, reason, exception);
            return false;
        }
    }

    public async ValueTask<HeartbeatRead> ReadAllAsync(CancellationToken cancellationToken)
    {
        try
        {
            var members = await Wait(_database.SetRandomMembersAsync(_indexKey, MaxNodes), cancellationToken);
            var names = members.Where(m => !m.IsNullOrEmpty).Select(m => m.ToString()).Distinct(StringComparer.Ordinal).ToList();
            var values = names.Select(name => _database.StringGetAsync(CreateKey(name))).ToList();
            var remaining = names.Select(name => _database.KeyTimeToLiveAsync(CreateKey(name))).ToList();
            await Wait(WhenAllAsync([.. values, .. remaining]), cancellationToken);

            var heartbeats = new List<Heartbeat>();
            var expired = new List<RedisValue>();
            for (var i = 0; i < names.Count; i++)
            {
                byte[]? value = values[i].Result;
                if (value is null || value.Length < HeaderLength || remaining[i].Result is not { } timeLeft)
                {
                    // Expired, or not written by this store: the name leaves the index until the node writes again. A
                // node that writes between the read and the removal is missing from the index for one interval.
                    expired.Add(names[i]);
                    continue;
                }

                var timeToLive = TimeSpan.FromMilliseconds(BinaryPrimitives.ReadUInt32BigEndian(value));
                var age = timeToLive - timeLeft;
                heartbeats.Add(new Heartbeat(names[i], value.AsMemory(HeaderLength), age < TimeSpan.Zero ? TimeSpan.Zero : age, timeToLive));
            }

            if (expired.Count > 0)
            {
                // Fire and forget: a failed removal only means the next read checks the name again.
                _ = _database.SetRemoveAsync(_indexKey, expired.ToArray(), CommandFlags.FireAndForget);
            }

            heartbeats.Sort(static (a, b) => string.CompareOrdinal(a.NodeName, b.NodeName));
            return new HeartbeatRead(true, heartbeats, null);
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.HeartbeatRead, reason, exception);
            return HeartbeatRead.Unavailable(reason.ToString());
        }
    }

    /// <summary>Sends PING and returns the round-trip time, or null when Redis did not reply in time or failed.</summary>
    public async ValueTask<TimeSpan?> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            var started = _timeProvider.GetTimestamp();
            await Wait(_database.PingAsync(), cancellationToken);
            return _timeProvider.GetElapsedTime(started);
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.Ping, reason, exception);
            return null;
        }
    }

    internal string CreateKey(string nodeName) => string.Concat(_keyPrefix, "heartbeat:", nodeName);

    private static async Task<bool> WhenAllAsync(params Task[] commands)
    {
        await Task.WhenAll(commands);
        return true;
    }

    private Task<T> Wait<T>(Task<T> command, CancellationToken cancellationToken) =>
        RedisOperation.WaitBoundedAsync(command, _operationTimeout, _timeProvider, cancellationToken);

    private void OnFailure(StoreOperation operation, StoreFailureReason reason, Exception exception)
    {
        _metrics.RecordFailure(operation, reason);
        if (!_failureLogLimiter.TryEnter((operation, reason), out var suppressed))
        {
            return;
        }

        if (suppressed == 0)
        {
            Log.OperationFailed(_logger, operation, reason, RedisAffinityStore.DescribeFailure(exception));
        }
        else
        {
            Log.OperationFailedAfterSuppressed(_logger, operation, reason, RedisAffinityStore.DescribeFailure(exception), suppressed);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HeartbeatOperationFailed, LogLevel.Warning,
            "Session store {Operation} failed with {Reason} ({Error}), so the cluster view may miss nodes")]
        public static partial void OperationFailed(ILogger logger, StoreOperation operation, StoreFailureReason reason, string error);

        [LoggerMessage(EventIds.HeartbeatOperationFailedAfterSuppressed, LogLevel.Warning,
            "Session store {Operation} failed with {Reason} ({Error}), so the cluster view may miss nodes. " +
            "{SuppressedCount} similar failures since the previous message were not logged")]
        public static partial void OperationFailedAfterSuppressed(
            ILogger logger,
            StoreOperation operation,
            StoreFailureReason reason,
            string error,
            long suppressedCount);
    }
}
