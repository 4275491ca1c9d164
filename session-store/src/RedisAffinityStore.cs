using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Tandem.SessionStore;

/// <summary>
/// Affinity pins in Redis, shared by every node of the cluster. Keys are
/// <c>{KeyPrefix}affinity:{clusterId}:{sessionId}</c> and values are destination ids, with a Redis expiry.
/// </summary>
/// <remarks>
/// Each command waits at most <see cref="SessionStoreOptions.OperationTimeout"/>, measured on the injected
/// <see cref="TimeProvider"/>. Commands run with <see cref="BacklogPolicy.FailFast"/>, so while Redis is unreachable
/// they fail at once instead of queueing behind a reconnect. Failures are counted in
/// <see cref="SessionStoreMetrics"/> and logged at most once per operation and reason every 30 seconds.
/// </remarks>
public sealed partial class RedisAffinityStore : IAffinityStore, IAsyncDisposable
{
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(30);

    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly string _keyPrefix;
    private readonly TimeSpan _operationTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly SessionStoreMetrics _metrics;
    private readonly ILogger _logger;
    private readonly FailureLogLimiter<(StoreOperation, StoreFailureReason)> _failureLogLimiter;
    private readonly FailureLogLimiter<string> _connectionLogLimiter;
    private readonly FailureLogLimiter<ChangeHintOutcome> _hintLogLimiter;
    private readonly TimeSpan _connectTimeout;

    /// <summary>1 once an authentication failure was logged, until a connection is restored; read with Interlocked.</summary>
    private int _authenticationFailureLogged;

    internal RedisAffinityStore(
        IConnectionMultiplexer connection,
        SessionStoreOptions options,
        ILogger logger,
        TimeProvider timeProvider,
        SessionStoreMetrics metrics)
    {
        _connection = connection;
        _database = connection.GetDatabase();
        _keyPrefix = options.KeyPrefix;
        _operationTimeout = options.OperationTimeout;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _failureLogLimiter = new(timeProvider, FailureLogInterval);
        _connectionLogLimiter = new(timeProvider, FailureLogInterval);
        _hintLogLimiter = new(timeProvider, FailureLogInterval);
        _connectTimeout = TimeSpan.FromMilliseconds(options.ConnectTimeoutMilliseconds);
        _hintChannel = RedisChannel.Literal(options.KeyPrefix + "affinity-changes");

        _connection.ConnectionFailed += OnConnectionFailed;
        _connection.ConnectionRestored += OnConnectionRestored;
    }

    public string Name => "redis";

    /// <summary>True while StackExchange.Redis has a usable connection to Redis.</summary>
    public bool IsConnected => _connection.IsConnected;

    /// <summary>
    /// The last connection failure as failure type, endpoint and a short cause, or null before the first. It carries
    /// the same cause as the connection-failure log line.
    /// </summary>
    public string? LastConnectionError { get; private set; }

    /// <summary>Raised after a connection fails or is restored, on a StackExchange.Redis thread; handlers must not block.</summary>
    public event Action? ConnectivityChanged;

    /// <summary>
    /// Connects to Redis and returns the store. When Redis is unreachable, it returns after the connect timeout with
    /// a store whose operations report <c>Unavailable</c> while StackExchange.Redis keeps reconnecting.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="SessionStoreOptions.Redis"/> is not a valid configuration string.</exception>
    public static async Task<RedisAffinityStore> ConnectAsync(
        SessionStoreOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider,
        SessionStoreMetrics metrics,
        CancellationToken cancellationToken)
    {
        var configuration = CreateConfiguration(options);
        var logger = loggerFactory.CreateLogger("Tandem.SessionStore.Redis");
        var endPoints = DescribeEndPoints(configuration);

        Log.Connecting(logger, endPoints, options.ConnectTimeoutMilliseconds);
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken);
        var store = new RedisAffinityStore(connection, options, logger, timeProvider, metrics);

        if (connection.IsConnected)
        {
            Log.Connected(logger, endPoints);
        }
        else
        {
            var failureType = await store.FindStartupFailureAsync(endPoints);
            Log.NotConnectedAtStartup(logger, endPoints, failureType);
            if (failureType == ConnectionFailureType.AuthenticationFailure)
            {
                store.LogAuthenticationFailureOnce(endPoints);
            }
        }

        await store.SubscribeToHintsAsync().WaitAsync(cancellationToken);
        if (connection.IsConnected)
        {
            await store.WaitForHintSubscriptionAsync(cancellationToken);
        }

        return store;
    }

    /// <summary>
    /// Parses the configuration string and applies the settings this store depends on, overriding the same
    /// settings in the string.
    /// </summary>
    /// <exception cref="ArgumentException">The TLS settings are invalid, as <see cref="SessionStoreOptions.ValidateTls"/> reports.</exception>
    internal static ConfigurationOptions CreateConfiguration(SessionStoreOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.Redis);

        var errors = new List<string>();
        options.ValidateTls(errors);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        if (options.RedisCaFile.Length > 0)
        {
            // The configuration string has no option for a CA file, and the server certificate is then checked against
            // this CA as well as its name against sslHost or the endpoint's host.
            configuration.TrustIssuer(X509CertificateLoader.LoadCertificateFromFile(options.RedisCaFile));
        }

        // Start even when Redis is down: pins are an optimisation, and the proxy must serve without them.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = options.ConnectTimeoutMilliseconds;

        // The tie-breaker key picks one primary among several listed ones, which the store does not support, so it is
        // off. The configuration channel, on which clients announce a new primary, moves under the key prefix, so
        // the ACL of the node's user needs no other channel. Subscribing to it also opens the subscription
        // connection while connecting, ready for the change hints.
        configuration.TieBreaker = "";
        configuration.ConfigurationChannel = options.KeyPrefix + "redis-configuration";

        // Keys contain session ids, which are cookie values, so exception messages must not carry them into logs.
        configuration.IncludeDetailInExceptions = false;

        // The store stops waiting after OperationTimeout on its own clock. These limits only decide when
        // StackExchange.Redis gives up on commands that no caller waits for any more.
        var libraryTimeout = Math.Max(1000, options.OperationTimeoutMilliseconds * 4);
        configuration.SyncTimeout = libraryTimeout;
        configuration.AsyncTimeout = libraryTimeout;
        return configuration;
    }

    public async ValueTask<AffinityLookup> GetAsync(string clusterId, string sessionId, CancellationToken cancellationToken)
    {
        // A caller that already gave up gets no command sent. Checked here, since WaitAsync returns a command that
        // completed in the meantime without looking at the token.
        cancellationToken.ThrowIfCancellationRequested();

        try
        {
            var command = _database.StringGetAsync(CreateKey(clusterId, sessionId));
            var value = await WaitBoundedAsync(command, cancellationToken);
            return value.IsNullOrEmpty ? AffinityLookup.NotFound : AffinityLookup.Found(value.ToString());
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.Get, reason, clusterId, exception);
            return AffinityLookup.Unavailable;
        }
    }

    public async ValueTask<AffinityWriteStatus> SetAsync(
        string clusterId,
        string sessionId,
        string destinationId,
        TimeSpan timeToLive,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        try
        {
            // SET with GET, which needs Redis 6.2 or later, returns the previous destination, so only a changed pin
            // sends a hint. Refreshing an unchanged pin, which happens on every first use, then costs the other nodes
            // nothing.
            var command = _database.StringSetAndGetAsync(CreateKey(clusterId, sessionId), destinationId, timeToLive);
            var previous = await WaitBoundedAsync(command, cancellationToken);
            if (!string.Equals(previous.ToString(), destinationId, StringComparison.Ordinal))
            {
                PublishHint(clusterId, sessionId);
            }

            return AffinityWriteStatus.Stored;
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, cancellationToken, out var reason))
        {
            OnFailure(StoreOperation.Set, reason, clusterId, exception);
            return AffinityWriteStatus.Unavailable;
        }
    }

    /// <summary>Returns a heartbeat store that shares this store's connection, key prefix and operation timeout.</summary>
    public RedisHeartbeatStore CreateHeartbeatStore(ILoggerFactory loggerFactory) =>
        new(_connection, _keyPrefix, _operationTimeout, loggerFactory.CreateLogger("Tandem.SessionStore.Redis"), _timeProvider, _metrics);

    public async ValueTask DisposeAsync()
    {
        _connection.ConnectionFailed -= OnConnectionFailed;
        _connection.ConnectionRestored -= OnConnectionRestored;
        await _connection.DisposeAsync();
    }

    /// <summary>
    /// Sends a PING to learn why the first connect failed, because StackExchange.Redis raises no
    /// <see cref="IConnectionMultiplexer.ConnectionFailed"/> before the store subscribes to it. Records the failure in
    /// <see cref="LastConnectionError"/> and returns its type, or null when the PING succeeded or failed otherwise.
    /// </summary>
    private async Task<ConnectionFailureType?> FindStartupFailureAsync(string endPoints)
    {
        try
        {
            await WaitBoundedAsync(_database.PingAsync(), CancellationToken.None);
            return null;
        }
        catch (RedisConnectionException exception)
        {
            // The last failure of the connection, such as AuthenticationFailure, is the inner exception of the
            // "no connection is available" exception that fail-fast commands throw.
            var failure = exception.InnerException as RedisConnectionException ?? exception;
            LastConnectionError ??= $"{failure.FailureType} on {endPoints}: {DescribeCause(failure.FailureType, failure)}";
            return failure.FailureType;
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, CancellationToken.None, out _))
        {
            return null;
        }
    }

    internal string CreateKey(string clusterId, string sessionId) =>
        string.Concat(_keyPrefix, "affinity:", clusterId, ":", sessionId);

    private Task<T> WaitBoundedAsync<T>(Task<T> command, CancellationToken cancellationToken) =>
        RedisOperation.WaitBoundedAsync(command, _operationTimeout, _timeProvider, cancellationToken);

    private void OnFailure(StoreOperation operation, StoreFailureReason reason, string clusterId, Exception exception)
    {
        _metrics.RecordFailure(operation, reason);

        if (!_failureLogLimiter.TryEnter((operation, reason), out var suppressed))
        {
            return;
        }

        if (suppressed == 0)
        {
            Log.OperationFailed(_logger, operation, clusterId, reason, DescribeFailure(exception));
        }
        else
        {
            Log.OperationFailedAfterSuppressed(_logger, operation, clusterId, reason, DescribeFailure(exception), suppressed);
        }
    }

    /// <summary>
    /// Describes a failure without the exception message, which can name the key and so the session id even with
    /// IncludeDetailInExceptions off, for example in the text of a server error reply.
    /// </summary>
    internal static string DescribeFailure(Exception exception) => exception switch
    {
        RedisConnectionException connection => $"{nameof(RedisConnectionException)} ({connection.FailureType})",
        RedisServerException server => $"{nameof(RedisServerException)} ({FirstWord(server.Message)})",
        _ => exception.GetType().Name,
    };

    /// <summary>The error code of a Redis error reply, such as NOAUTH or OOM, which is its first word.</summary>
    private static string FirstWord(string message)
    {
        var end = message.IndexOf(' ', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs args)
    {
        var endPoint = FormatEndPoint(args.EndPoint);
        var cause = DescribeCause(args.FailureType, args.Exception);
        LastConnectionError = $"{args.FailureType} on {endPoint}: {cause}";

        // Logged before the handlers run, so the failure is in the log by the time they report it elsewhere.
        if (_connectionLogLimiter.TryEnter(endPoint, out var suppressed))
        {
            if (suppressed == 0)
            {
                Log.ConnectionFailed(_logger, endPoint, args.ConnectionType, args.FailureType, cause);
            }
            else
            {
                Log.ConnectionFailedAfterSuppressed(_logger, endPoint, args.ConnectionType, args.FailureType, cause, suppressed);
            }
        }

        // A connect timeout on a busy host can hide the first authentication failure, so a later attempt reports it.
        if (args.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            LogAuthenticationFailureOnce(endPoint);
        }

        ConnectivityChanged?.Invoke();
    }

    /// <summary>Logs that Redis rejected the credentials, once until a connection is restored.</summary>
    private void LogAuthenticationFailureOnce(string endPoints)
    {
        if (Interlocked.Exchange(ref _authenticationFailureLogged, 1) == 0)
        {
            Log.AuthenticationFailed(_logger, endPoints);
        }
    }

    /// <summary>
    /// Returns the cause of a connection failure in a few words, such as <c>Connection refused</c> or
    /// <c>ReadEndOfStream</c>. The exception message itself starts with the failure type again and ends with a long
    /// list of connection counters and the library version, which would repeat in every log line.
    /// </summary>
    internal static string DescribeCause(ConnectionFailureType failureType, Exception? exception)
    {
        if (exception?.InnerException is { } inner)
        {
            return inner.Message;
        }

        // The library's message starts with the failure type and, when it has one, the cause in brackets, as in
        // "SocketClosed (ReadEndOfStream, last-recv: 0) on 127.0.0.1:6379/Interactive, ...".
        var message = exception?.Message ?? "";
        var prefix = failureType + " (";
        if (message.StartsWith(prefix, StringComparison.Ordinal))
        {
            var end = message.IndexOfAny([',', ')'], prefix.Length);
            if (end > prefix.Length)
            {
                return message[prefix.Length..end];
            }
        }

        return "no further detail";
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs args)
    {
        var endPoint = FormatEndPoint(args.EndPoint);
        _connectionLogLimiter.Reset(endPoint);
        Interlocked.Exchange(ref _authenticationFailureLogged, 0);
        Log.ConnectionRestored(_logger, endPoint, args.ConnectionType);

        // Hints published while this connection was down are lost.
        StartRevalidation();
        ConnectivityChanged?.Invoke();
    }

    private static string DescribeEndPoints(ConfigurationOptions configuration) =>
        string.Join(", ", configuration.EndPoints.Select(FormatEndPoint));

    private static string FormatEndPoint(EndPoint? endPoint) => endPoint switch
    {
        null => "unknown",
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        _ => endPoint.ToString() ?? "unknown",
    };

    private static partial class Log
    {
        [LoggerMessage(EventIds.RedisConnecting, LogLevel.Information,
            "Connecting to Redis at {EndPoints} (connect timeout {ConnectTimeoutMilliseconds} ms)")]
        public static partial void Connecting(ILogger logger, string endPoints, int connectTimeoutMilliseconds);

        [LoggerMessage(EventIds.RedisConnected, LogLevel.Information, "Connected to Redis at {EndPoints}")]
        public static partial void Connected(ILogger logger, string endPoints);

        [LoggerMessage(EventIds.RedisNotConnectedAtStartup, LogLevel.Warning,
            "Redis at {EndPoints} is not reachable ({FailureType}). The node starts anyway, keeps reconnecting in the " +
            "background, and keeps affinity pins only in this process until Redis answers")]
        public static partial void NotConnectedAtStartup(ILogger logger, string endPoints, ConnectionFailureType? failureType);

        [LoggerMessage(EventIds.RedisAuthenticationFailed, LogLevel.Error,
            "Redis at {EndPoints} rejected the node's credentials. Check user= and password= in SessionStore:Redis and " +
            "the ACL rules of that user")]
        public static partial void AuthenticationFailed(ILogger logger, string endPoints);

        [LoggerMessage(EventIds.RedisConnectionFailed, LogLevel.Warning,
            "Redis connection to {EndPoint} ({ConnectionType}) failed with {FailureType} ({Cause}). " +
            "Reconnecting in the background")]
        public static partial void ConnectionFailed(
            ILogger logger,
            string endPoint,
            ConnectionType connectionType,
            ConnectionFailureType failureType,
            string cause);

        [LoggerMessage(EventIds.RedisConnectionFailedAfterSuppressed, LogLevel.Warning,
            "Redis connection to {EndPoint} ({ConnectionType}) failed with {FailureType} ({Cause}). " +
            "Reconnecting in the background. {SuppressedCount} earlier failures of this connection were not logged")]
        public static partial void ConnectionFailedAfterSuppressed(
            ILogger logger,
            string endPoint,
            ConnectionType connectionType,
            ConnectionFailureType failureType,
            string cause,
            long suppressedCount);

        [LoggerMessage(EventIds.RedisConnectionRestored, LogLevel.Information,
            "Redis connection to {EndPoint} ({ConnectionType}) restored")]
        public static partial void ConnectionRestored(ILogger logger, string endPoint, ConnectionType connectionType);

        [LoggerMessage(EventIds.StoreOperationFailed, LogLevel.Warning,
            "Session store {Operation} for cluster {ClusterId} failed with {Reason} ({Error}), so the request goes " +
            "on without the shared pin")]
        public static partial void OperationFailed(
            ILogger logger,
            StoreOperation operation,
            string clusterId,
            StoreFailureReason reason,
            string error);

        [LoggerMessage(EventIds.StoreOperationFailedAfterSuppressed, LogLevel.Warning,
            "Session store {Operation} for cluster {ClusterId} failed with {Reason} ({Error}), so the request goes " +
            "on without the shared pin. {SuppressedCount} similar failures since the previous message were not logged")]
        public static partial void OperationFailedAfterSuppressed(
            ILogger logger,
            StoreOperation operation,
            string clusterId,
            StoreFailureReason reason,
            string error,
            long suppressedCount);
    }
}
