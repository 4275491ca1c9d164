using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Tandem.SessionStore;

/// <summary>Outcome of one pin change hint received over Redis pub/sub.</summary>
public enum ChangeHintOutcome
{
    /// <summary>Another node changed the pin, so this node dropped it from its local cache.</summary>
    Applied,

    /// <summary>This store published the message itself, so it was ignored.</summary>
    Own,

    /// <summary>The message does not have the format this store publishes, so it was ignored.</summary>
    Malformed,

    /// <summary>A store checked that its subscription works by publishing its sender id alone. Nothing to drop.</summary>
    Probe,
}

/// <summary>
/// Pin change hints: after a write that changed a pin, the store publishes <c>{sender}\n{clusterId}\n{sessionId}</c>
/// on the channel <c>{KeyPrefix}affinity-changes</c>, and every other store drops that pin from its local cache, so
/// the next lookup reads Redis. The message carries no destination and no key material.
/// </summary>
/// <remarks>
/// Redis pub/sub delivers each message at most once, and a message published while a subscriber is disconnected is
/// lost. So after every restored connection the store revalidates the whole local cache against Redis (<see cref="RevalidateLocalCacheAsync"/>).
/// </remarks>
public sealed partial class RedisAffinityStore
{
    /// <summary>Maximum length of a hint message in characters. Longer messages are rejected as malformed.</summary>
    internal const int MaxHintLength = 4096;

    /// <summary>Keys read with one MGET while revalidating the local cache.</summary>
    internal const int RevalidationBatchSize = 256;

    private const int RevalidationIdle = 0;
    private const int RevalidationRunning = 1;
    private const int RevalidationRerunRequested = 2;

    // Random per store instance, so a node ignores its own hints even when two nodes share a name.
    private readonly string _senderId = Guid.NewGuid().ToString("N");
    private readonly RedisChannel _hintChannel;
    private InProcessAffinityStore? _localCache;
    private int _revalidationState;

    // Completed when this store receives its own subscription probe, a message of just its sender id.
    private readonly TaskCompletionSource _subscriptionConfirmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Drops pins from <paramref name="localCache"/> when another node changes them, and checks the cached pins
    /// against Redis after each reconnect. Call it once, before the cache serves requests.
    /// </summary>
    public void AttachLocalCache(InProcessAffinityStore localCache)
    {
        ArgumentNullException.ThrowIfNull(localCache);
        if (Interlocked.CompareExchange(ref _localCache, localCache, null) is not null)
        {
            throw new InvalidOperationException("A local cache is already attached to this store.");
        }
    }

    /// <summary>
    /// Subscribes to the hint channel. StackExchange.Redis keeps the subscription even when this first SUBSCRIBE
    /// fails because Redis is unreachable, and sends it again on every connect, so this runs once per store.
    /// </summary>
    private async Task SubscribeToHintsAsync()
    {
        try
        {
            await RedisOperation.WaitBoundedAsync(SubscribeAsync(), _connectTimeout, _timeProvider, CancellationToken.None);
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, CancellationToken.None, out var reason))
        {
            // An error reply, such as NOPERM from an ACL without the channel, repeats on every connect. An unreachable
            // Redis is already logged as such.
            var level = reason == StoreFailureReason.ServerError ? LogLevel.Warning : LogLevel.Debug;
            Log.ChangeHintSubscribeFailed(_logger, level, _hintChannel.ToString(), reason, DescribeFailure(exception));
        }
    }

    /// <summary>
    /// Waits until this store receives its own subscription probe, at most the connect timeout, so that hints other
    /// nodes send after <see cref="ConnectAsync"/> returns reach it.
    /// </summary>
    /// <remarks>
    /// It measures real time, like the connect timeout of StackExchange.Redis itself, because a test clock would never
    /// end the wait.
    /// </remarks>
    private async Task WaitForHintSubscriptionAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!_subscriptionConfirmed.Task.IsCompleted && Stopwatch.GetElapsedTime(started) < _connectTimeout)
        {
            try
            {
                _connection.GetSubscriber().Publish(_hintChannel, _senderId, CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // Not connected yet: the next round tries again.
            }

            await Task.WhenAny(_subscriptionConfirmed.Task, Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<bool> SubscribeAsync()
    {
        await _connection.GetSubscriber().SubscribeAsync(_hintChannel, OnHint);
        return true;
    }

    /// <summary>Publishes a hint for a pin that this store just changed. Failures are ignored, because a hint is optional.</summary>
    private void PublishHint(string clusterId, string sessionId)
    {
        try
        {
            _connection.GetSubscriber().Publish(
                _hintChannel,
                string.Concat(_senderId, "\n", clusterId, "\n", sessionId),
                CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // NOTE: The other nodes then serve their cached copy of the pin until it expires or their own Redis
            // connection is restored, because no other message reports this change.
        }
    }

    private void OnHint(RedisChannel channel, RedisValue message)
    {
        if (IsProbe(message, out var probeSenderId))
        {
            if (string.Equals(probeSenderId, _senderId, StringComparison.Ordinal))
            {
                _subscriptionConfirmed.TrySetResult();
            }

            _metrics.RecordHint(ChangeHintOutcome.Probe);
            return;
        }

        if (!TryParseHint(message, out var senderId, out var clusterId, out var sessionId))
        {
            _metrics.RecordHint(ChangeHintOutcome.Malformed);
            if (_hintLogLimiter.TryEnter(ChangeHintOutcome.Malformed, out var suppressed))
            {
                Log.ChangeHintRejected(_logger, channel.ToString(), suppressed);
            }

            return;
        }

        if (string.Equals(senderId, _senderId, StringComparison.Ordinal))
        {
            _metrics.RecordHint(ChangeHintOutcome.Own);
            return;
        }

        _localCache?.Remove(clusterId, sessionId);
        _metrics.RecordHint(ChangeHintOutcome.Applied);
    }

    /// <summary>Checks for a subscription probe, which is a sender id alone: 32 lowercase hexadecimal digits.</summary>
    internal static bool IsProbe(RedisValue message, out string senderId)
    {
        senderId = "";
        if (message.IsNullOrEmpty || message.Length() != 32)
        {
            return false;
        }

        var text = message.ToString();
        if (!text.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        senderId = text;
        return true;
    }

    /// <summary>
    /// Splits a hint into sender, cluster id and session id. Rejects anything else, such as a message from another
    /// program that publishes on the channel.
    /// </summary>
    internal static bool TryParseHint(RedisValue message, out string senderId, out string clusterId, out string sessionId)
    {
        senderId = clusterId = sessionId = "";
        if (message.IsNullOrEmpty || message.Length() > MaxHintLength)
        {
            return false;
        }

        var parts = message.ToString().Split('\n');
        if (parts.Length != 3 || parts.Any(string.IsNullOrEmpty))
        {
            return false;
        }

        (senderId, clusterId, sessionId) = (parts[0], parts[1], parts[2]);
        return true;
    }

    /// <summary>
    /// Starts a revalidation of the local cache, or makes the running one start over once it ends, because the
    /// connection may have failed again while it read.
    /// </summary>
    private void StartRevalidation()
    {
        if (_localCache is null)
        {
            return;
        }

        while (true)
        {
            var state = Volatile.Read(ref _revalidationState);
            if (state == RevalidationIdle)
            {
                if (Interlocked.CompareExchange(ref _revalidationState, RevalidationRunning, RevalidationIdle) == RevalidationIdle)
                {
                    _ = Task.Run(RevalidateUntilDoneAsync);
                    return;
                }
            }
            else if (Interlocked.CompareExchange(ref _revalidationState, RevalidationRerunRequested, state) == state)
            {
                return;
            }
        }
    }

    private async Task RevalidateUntilDoneAsync()
    {
        do
        {
            Volatile.Write(ref _revalidationState, RevalidationRunning);
            await RevalidateLocalCacheAsync();
        }
        while (Interlocked.CompareExchange(ref _revalidationState, RevalidationIdle, RevalidationRunning) != RevalidationRunning);
    }

    /// <summary>
    /// Reads every cached pin from Redis and drops those that Redis has with another destination, because another
    /// node changed them while this node missed the hints. Pins that Redis lacks stay cached, so the node's
    /// write-back can restore them after Redis restarted empty.
    /// </summary>
    /// <remarks>
    /// NOTE: A request that uses a stale pin between the reconnect and the end of this read may write the stale pin
    /// back, replacing the newer one. Its hint then makes the other nodes drop their copies, so all nodes agree again.
    /// </remarks>
    internal async Task RevalidateLocalCacheAsync()
    {
        var cache = _localCache;
        if (cache is null)
        {
            return;
        }

        var entries = cache.GetEntries();
        var dropped = 0;
        try
        {
            for (var start = 0; start < entries.Count; start += RevalidationBatchSize)
            {
                var batch = entries.Skip(start).Take(RevalidationBatchSize).ToList();
                var keys = batch.Select(entry => (RedisKey)CreateKey(entry.ClusterId, entry.SessionId)).ToArray();
                var values = await WaitBoundedAsync(_database.StringGetAsync(keys), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    var (clusterId, sessionId, destinationId) = batch[i];
                    if (!values[i].IsNull
                        && !string.Equals(values[i].ToString(), destinationId, StringComparison.Ordinal)
                        && cache.Remove(clusterId, sessionId, destinationId))
                    {
                        dropped++;
                    }
                }
            }
        }
        catch (Exception exception) when (RedisOperation.TryClassify(exception, CancellationToken.None, out var reason))
        {
            // A connection that failed again starts the next revalidation when it is restored. After a timeout alone,
            // the pins not yet checked stay cached until a hint or their expiry removes them.
            _metrics.RecordFailure(StoreOperation.Revalidate, reason);
            Log.LocalCacheRevalidationFailed(_logger, entries.Count, dropped, reason, DescribeFailure(exception));
            return;
        }

        _metrics.RecordRevalidation(dropped);
        Log.LocalCacheRevalidated(_logger, entries.Count, dropped);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.ChangeHintSubscribeFailed, Message =
            "Subscribing to pin change hints on Redis channel {Channel} failed with {Reason} ({Error}). The node " +
            "subscribes again on every connect, and until then may serve cached pins that other nodes changed")]
        public static partial void ChangeHintSubscribeFailed(
            ILogger logger,
            LogLevel level,
            string channel,
            StoreFailureReason reason,
            string error);

        [LoggerMessage(EventIds.ChangeHintRejected, LogLevel.Warning,
            "Rejected a message on Redis channel {Channel} that is not a pin change hint. Check that only Tandem " +
            "nodes publish on it. {SuppressedCount} similar messages since the previous warning were not logged")]
        public static partial void ChangeHintRejected(ILogger logger, string channel, long suppressedCount);

        [LoggerMessage(EventIds.LocalCacheRevalidated, LogLevel.Information,
            "Checked {CheckedCount} cached pins against Redis after a reconnect and dropped {DroppedCount} that " +
            "another node changed meanwhile")]
        public static partial void LocalCacheRevalidated(ILogger logger, int checkedCount, int droppedCount);

        [LoggerMessage(EventIds.LocalCacheRevalidationFailed, LogLevel.Warning,
            "Checking {CheckedCount} cached pins against Redis after a reconnect failed with {Reason} ({Error}) after " +
            "dropping {DroppedCount}. The next reconnect checks them again")]
        public static partial void LocalCacheRevalidationFailed(
            ILogger logger,
            int checkedCount,
            int droppedCount,
            StoreFailureReason reason,
            string error);
    }
}
