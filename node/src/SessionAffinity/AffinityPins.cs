using System.Collections.Concurrent;
using Tandem.SessionStore;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Reads and writes pins in two tiers: a bounded in-process cache first, then the shared store. With the in-process
/// store as the only store, both tiers are the same object and the second step is skipped.
/// </summary>
/// <remarks>
/// A pin in active use is written again once less than half of its TTL remains, so the shared copy does not expire
/// under a live session. A pin read from the shared store is written again on first use, because its remaining TTL
/// is unknown.
/// <para>
/// Requests for a pin found in the cache do not read the shared store, so they cannot see that Redis lost the pin,
/// for example after a restart without persistence. So a cached pin is also written back in the background when
/// the shared store never confirmed it, when the connection to Redis failed or came back since the last
/// confirmation (<see cref="OnSharedConnectivityChanged"/>), and when the last confirmation is older than
/// <see cref="SharedCheckInterval"/>, provided the request is routed by the pin (<see cref="StartWriteBack"/>). At most <see cref="MaxBackgroundWrites"/> such writes run at once, one per pin;
/// when that many are running, the next request for the pin tries again. Failed writes are counted by the store.
/// </para>
/// </remarks>
internal sealed class AffinityPins
{
    /// <summary>Maximum entries of the node-local cache in front of Redis, about 12 MB at an estimated 250 bytes each.</summary>
    public const int LocalCacheCapacity = 50_000;

    /// <summary>Maximum pins of a single node without Redis, about 60 MB at an estimated 250 bytes each.</summary>
    public const int InProcessStoreCapacity = 250_000;

    /// <summary>Maximum age of the last shared-store confirmation before a cached pin in use is written back.</summary>
    /// <remarks>
    /// NOTE: An estimate that trades one Redis write per active session per interval against how long a pin lost
    /// without a connection failure (FLUSHALL, eviction) stays missing for the other node.
    /// </remarks>
    public static readonly TimeSpan SharedCheckInterval = TimeSpan.FromSeconds(30);

    /// <summary>Maximum number of background write-backs in flight, so a slow Redis cannot make them pile up.</summary>
    public const int MaxBackgroundWrites = 64;

    private readonly InProcessAffinityStore _local;
    private readonly IAffinityStore _shared;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<(string ClusterId, string SessionId), Task> _backgroundWrites = new();
    private long _sharedConnectivityChangedAtTicks = DateTimeOffset.MinValue.UtcTicks;
    private int _backgroundWriteCount;

    public AffinityPins(InProcessAffinityStore local, IAffinityStore shared, TimeSpan timeToLive, TimeProvider timeProvider)
    {
        _local = local;
        _shared = shared;
        _timeProvider = timeProvider;
        TimeToLive = timeToLive;
    }

    public TimeSpan TimeToLive { get; }

    private bool HasSharedTier => !ReferenceEquals(_local, _shared);

    public async ValueTask<PinLookup> LookUpAsync(string clusterId, string sessionId, CancellationToken cancellationToken)
    {
        if (_local.TryGet(clusterId, sessionId, out var destinationId, out var expiresAt, out var sharedAt))
        {
            var now = _timeProvider.GetUtcNow();
            var needsRefresh = expiresAt - now < TimeToLive / 2;
            var needsWriteBack = !needsRefresh && HasSharedTier && IsSharedCopyInDoubt(sharedAt, now);
            return new PinLookup(AffinityLookupStatus.Found, destinationId, needsRefresh, needsWriteBack);
        }

        if (!HasSharedTier)
        {
            return new PinLookup(AffinityLookupStatus.NotFound, null, NeedsRefresh: false, NeedsWriteBack: false);
        }

        var lookup = await _shared.GetAsync(clusterId, sessionId, cancellationToken);
        if (lookup.Status != AffinityLookupStatus.Found)
        {
            return new PinLookup(lookup.Status, null, NeedsRefresh: false, NeedsWriteBack: false);
        }

        _local.Set(clusterId, sessionId, lookup.DestinationId!, TimeToLive);
        _local.MarkShared(clusterId, sessionId, lookup.DestinationId!, _timeProvider.GetUtcNow());
        return new PinLookup(AffinityLookupStatus.Found, lookup.DestinationId, NeedsRefresh: true, NeedsWriteBack: false);
    }

    /// <summary>
    /// Writes the pin to both tiers. Returns false when the shared store did not confirm it, in which case only this
    /// node has the pin.
    /// </summary>
    public async ValueTask<bool> StoreAsync(
        string clusterId,
        string sessionId,
        string destinationId,
        CancellationToken cancellationToken)
    {
        _local.Set(clusterId, sessionId, destinationId, TimeToLive);
        if (!HasSharedTier)
        {
            return true;
        }

        var status = await _shared.SetAsync(clusterId, sessionId, destinationId, TimeToLive, cancellationToken);
        if (status != AffinityWriteStatus.Stored)
        {
            return false;
        }

        _local.MarkShared(clusterId, sessionId, destinationId, _timeProvider.GetUtcNow());
        return true;
    }

    /// <summary>
    /// Marks every cached pin as possibly missing from the shared store, because Redis may have restarted empty. Call
    /// it when the connection to the shared store fails or is restored. Each pin is then written back on its next use.
    /// </summary>
    public void OnSharedConnectivityChanged() =>
        Interlocked.Exchange(ref _sharedConnectivityChangedAtTicks, _timeProvider.GetUtcNow().UtcTicks);

    /// <summary>Waits for the background write-backs started so far, for tests.</summary>
    internal Task WaitForBackgroundWritesAsync() => Task.WhenAll(_backgroundWrites.Values);

    private bool IsSharedCopyInDoubt(DateTimeOffset? sharedAt, DateTimeOffset now) =>
        sharedAt is not { } confirmedAt
        || confirmedAt.UtcTicks <= Interlocked.Read(ref _sharedConnectivityChangedAtTicks)
        || now - confirmedAt >= SharedCheckInterval;

    /// <summary>
    /// Writes a cached pin to the shared store in the background, after <see cref="LookUpAsync"/> set
    /// <see cref="PinLookup.NeedsWriteBack"/> and the request was routed by the pin. A pin that the request does not
    /// use is not written back, because its write could land after the new pin's and replace it.
    /// </summary>
    public void StartWriteBack(string clusterId, string sessionId, string destinationId)
    {
        var key = (clusterId, sessionId);
        if (Interlocked.Increment(ref _backgroundWriteCount) > MaxBackgroundWrites)
        {
            Interlocked.Decrement(ref _backgroundWriteCount);
            return;
        }

        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_backgroundWrites.TryAdd(key, completion.Task))
        {
            // A write-back of this pin is already running.
            Interlocked.Decrement(ref _backgroundWriteCount);
            return;
        }

        _ = WriteBackAsync();

        async Task WriteBackAsync()
        {
            try
            {
                // Not the request's token: the write-back serves later requests, possibly on the other node. The store
                // bounds the wait by its operation timeout and reports failures as a status, counted by the store.
                var status = await _shared.SetAsync(clusterId, sessionId, destinationId, TimeToLive, CancellationToken.None);
                if (status == AffinityWriteStatus.Stored)
                {
                    _local.MarkShared(clusterId, sessionId, destinationId, _timeProvider.GetUtcNow());
                }
            }
            finally
            {
                _backgroundWrites.TryRemove(key, out _);
                Interlocked.Decrement(ref _backgroundWriteCount);
                completion.SetResult();
            }
        }
    }
}

/// <summary>
/// Result of <see cref="AffinityPins.LookUpAsync"/>. <c>NeedsRefresh</c> requests a write before the response.
/// <c>NeedsWriteBack</c> requests <see cref="AffinityPins.StartWriteBack"/>, because the shared store may have lost the pin.
/// </summary>
internal readonly record struct PinLookup(
    AffinityLookupStatus Status,
    string? DestinationId,
    bool NeedsRefresh,
    bool NeedsWriteBack);
