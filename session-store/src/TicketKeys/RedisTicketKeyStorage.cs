using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Tandem.SessionStore.TicketKeys;

/// <summary>
/// Ticket keys in Redis under <c>{KeyPrefix}tls-ticket-key:{epoch}</c>, each with an expiry, so every node of the
/// cluster reads the same keys and a restarted node finds them again.
/// </summary>
/// <remarks>
/// Like <see cref="RedisAffinityStore"/>, each command waits at most the operation timeout on the injected
/// <see cref="TimeProvider"/>, and failures return null and are logged at most once per reason every 30 seconds.
/// The values are binary key material, so neither keys nor values ever reach a log line.
/// </remarks>
public sealed partial class RedisTicketKeyStorage : ITicketKeyStorage, IAsyncDisposable
{
    // SET NX and GET in one script, so two nodes that create the key of a new interval at the same time both end up
    // with the one that was stored first.
    private const string GetOrAddScript =
        "redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) return redis.call('GET', KEYS[1])";

    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(30);

    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly IDatabase _database;
    private readonly string _keyPrefix;
    private readonly TimeSpan _operationTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly FailureLogLimiter<StoreFailureReason> _failureLogLimiter;

    internal RedisTicketKeyStorage(
        IConnectionMultiplexer connection,
        bool ownsConnection,
        SessionStoreOptions options,
        ILogger logger,
        TimeProvider timeProvider)
    {
        _connection = connection;
        _ownsConnection = ownsConnection;
        _database = connection.GetDatabase();
        _keyPrefix = options.KeyPrefix;
        _operationTimeout = options.OperationTimeout;
        _timeProvider = timeProvider;
        _logger = logger;
        _failureLogLimiter = new(timeProvider, FailureLogInterval);
    }

    public string Name => "redis";

    /// <summary>
    /// Connects to Redis with the session store's settings. When Redis is unreachable it returns after the connect
    /// timeout, and every operation returns null until StackExchange.Redis reconnects.
    /// </summary>
    public static async Task<RedisTicketKeyStorage> ConnectAsync(
        SessionStoreOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var configuration = RedisAffinityStore.CreateConfiguration(options);
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken);
        return new RedisTicketKeyStorage(
            connection,
            ownsConnection: true,
            options,
            loggerFactory.CreateLogger("Tandem.SessionStore.TicketKeys"),
            timeProvider);
    }

    public async ValueTask<byte[]?> GetOrAddAsync(
        long epoch,
        byte[] candidate,
        TimeSpan timeToLive,
        CancellationToken cancellationToken)
    {
        try
        {
            var command = _database.ScriptEvaluateAsync(
                GetOrAddScript,
                [CreateKey(epoch)],
                [candidate, (long)timeToLive.TotalMilliseconds]);
            var result = await WaitBoundedAsync(command, cancellationToken);
            return CheckMaterial(epoch, (byte[]?)result);
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(reason, exception);
            return null;
        }
    }

    public async ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(
        IReadOnlyList<long> epochs,
        CancellationToken cancellationToken)
    {
        try
        {
            var keys = epochs.Select(epoch => (RedisKey)CreateKey(epoch)).ToArray();
            var values = await WaitBoundedAsync(_database.StringGetAsync(keys), cancellationToken);
            var found = new Dictionary<long, byte[]>();
            for (var i = 0; i < epochs.Count; i++)
            {
                if (!values[i].IsNull && CheckMaterial(epochs[i], (byte[]?)values[i]) is { } material)
                {
                    found[epochs[i]] = material;
                }
            }

            return found;
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(reason, exception);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            await _connection.DisposeAsync();
        }
    }

    internal string CreateKey(long epoch) =>
        string.Concat(_keyPrefix, "tls-ticket-key:", epoch.ToString(CultureInfo.InvariantCulture));

    private byte[]? CheckMaterial(long epoch, byte[]? material)
    {
        if (material is { Length: TicketKey.MaterialLength })
        {
            return material;
        }

        // Something other than a node wrote the key. Using it would fail every resumption, so skip it until it expires.
        Log.StoredKeyInvalid(_logger, CreateKey(epoch), material?.Length ?? 0, TicketKey.MaterialLength);
        return null;
    }

    private Task<T> WaitBoundedAsync<T>(Task<T> command, CancellationToken cancellationToken) =>
        RedisOperation.WaitBoundedAsync(command, _operationTimeout, _timeProvider, cancellationToken);

    private void OnFailure(StoreFailureReason reason, Exception exception)
    {
        if (_failureLogLimiter.TryEnter(reason, out var suppressed))
        {
            // The type alone: a server error text could quote the script's arguments, which are key material.
            Log.OperationFailed(_logger, reason, exception.GetType().Name, suppressed);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(TicketKeyEventIds.StorageOperationFailed, LogLevel.Warning,
            "Reading TLS ticket keys from Redis failed with {Reason} ({Error}), so the node keeps its cached keys. " +
            "{SuppressedCount} similar failures since the previous message were not logged")]
        public static partial void OperationFailed(ILogger logger, StoreFailureReason reason, string error, long suppressedCount);

        [LoggerMessage(TicketKeyEventIds.StoredKeyInvalid, LogLevel.Error,
            "Redis key {Key} holds {Length} bytes instead of a {ExpectedLength}-byte TLS ticket key, so the node ignores " +
            "it. Delete the key so a node can create a valid one")]
        public static partial void StoredKeyInvalid(ILogger logger, string key, int length, int expectedLength);
    }
}
