using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.Node.Hosting;
using Tandem.Node.Logging;
using Tandem.SessionStore;

namespace Tandem.Node.Monitoring;

/// <summary>
/// Publishes this node's status as a heartbeat to the session store every
/// <see cref="ManagementSettings.HeartbeatInterval"/>, and with Redis measures the round-trip time with a PING first.
/// </summary>
/// <remarks>
/// The heartbeat is the serialized <see cref="Tandem.Monitoring.V1.NodeStatus"/>, which contains no secret: the
/// session store's last error names the endpoint and the failure, never the configuration string. Every store call is
/// bounded by <c>SessionStore:OperationTimeoutMilliseconds</c> and never throws for store faults, so one tick takes at
/// most two operation timeouts.
/// </remarks>
internal sealed partial class ClusterHeartbeatService : IHostedService, IDisposable
{
    private readonly ManagementSettings _management;
    private readonly NodeSettings _settings;
    private readonly NodeStatusCollector _collector;
    private readonly SessionStoreProbe _probe;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SharedAffinityStoreConnector? _redis;
    private readonly InProcessHeartbeatStore? _inProcess;
    private readonly CancellationTokenSource _stopping = new();
    private RedisHeartbeatStore? _redisHeartbeats;
    private Task? _loop;

    public ClusterHeartbeatService(
        ManagementSettings management,
        NodeSettings settings,
        NodeStatusCollector collector,
        SessionStoreProbe probe,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        SharedAffinityStoreConnector? redis = null)
    {
        _management = management;
        _settings = settings;
        _collector = collector;
        _probe = probe;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Tandem.Node.Monitoring");
        _redis = redis;
        _inProcess = settings.UsesRedis ? null : new InProcessHeartbeatStore(timeProvider);
    }

    public TimeSpan Interval => _management.HeartbeatInterval;

    /// <summary>The heartbeat store, or null while the Redis connection is still being set up at startup.</summary>
    public IHeartbeatStore? Store => _inProcess is null ? RedisHeartbeats : _inProcess;

    private RedisHeartbeatStore? RedisHeartbeats =>
        _redisHeartbeats ??= _redis?.Store?.CreateHeartbeatStore(_loggerFactory);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Started(_logger, (int)Interval.TotalMilliseconds, (int)_management.HeartbeatTtl.TotalMilliseconds,
            _settings.UsesRedis ? "redis" : "in-process");
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the loop, then removes this node's heartbeat so that it leaves every cluster view at once instead of
    /// after the expiry. A node that is killed cannot do this, and its heartbeat expires instead.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken);
        }

        if (Store is { } store && !await store.RemoveAsync(_settings.NodeName, cancellationToken))
        {
            Log.RemoveFailed(_logger, (int)_management.HeartbeatTtl.TotalMilliseconds);
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Pings Redis, when it is the store, then publishes the status.</summary>
    /// <returns>True when the store confirmed the heartbeat.</returns>
    internal async Task<bool> PublishOnceAsync(CancellationToken cancellationToken)
    {
        if (RedisHeartbeats is { } redis)
        {
            _probe.RoundTripTime = await redis.PingAsync(cancellationToken);
        }

        if (Store is not { } store)
        {
            return false;
        }

        var status = _collector.Collect();
        return await store.PublishAsync(_settings.NodeName, status.ToByteArray(), _management.HeartbeatTtl, cancellationToken);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, _timeProvider);
        try
        {
            // The first heartbeat goes out at once, so peers see a starting node without waiting one interval.
            do
            {
                try
                {
                    await PublishOnceAsync(stopping);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The stores never throw for store faults, so this is a bug; the next tick tries again.
                    Log.HeartbeatFailed(_logger, exception);
                }
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HeartbeatsStarted, LogLevel.Information,
            "Publishing this node's status to the {Store} session store every {IntervalMilliseconds} ms, with an expiry of {TtlMilliseconds} ms")]
        public static partial void Started(ILogger logger, int intervalMilliseconds, int ttlMilliseconds, string store);

        [LoggerMessage(EventIds.HeartbeatFailed, LogLevel.Error,
            "Publishing the heartbeat failed unexpectedly; trying again after the next interval")]
        public static partial void HeartbeatFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.HeartbeatRemoveFailed, LogLevel.Warning,
            "Removing this node's heartbeat from the session store failed, so other nodes list it as stale until it " +
            "expires in at most {TtlMilliseconds} ms")]
        public static partial void RemoveFailed(ILogger logger, int ttlMilliseconds);
    }
}
