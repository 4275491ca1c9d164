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
/// </remarks>
internal sealed class AffinityPins
{
    /// <summary>Maximum entries of the node-local cache in front of Redis, about 12 MB at an estimated 250 bytes each.</summary>
    public const int LocalCacheCapacity = 50_000;

    /// <summary>Maximum pins of a single node without Redis, about 60 MB at an estimated 250 bytes each.</summary>
    public const int InProcessStoreCapacity = 250_000;

    private readonly InProcessAffinityStore _local;
    private readonly IAffinityStore _shared;
    private readonly TimeProvider _timeProvider;

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
        if (_local.TryGet(clusterId, sessionId, out var destinationId, out var expiresAt))
        {
            var needsRefresh = expiresAt - _timeProvider.GetUtcNow() < TimeToLive / 2;
            return new PinLookup(AffinityLookupStatus.Found, destinationId, needsRefresh);
        }

        if (!HasSharedTier)
        {
            return new PinLookup(AffinityLookupStatus.NotFound, null, NeedsRefresh: false);
        }

        var lookup = await _shared.GetAsync(clusterId, sessionId, cancellationToken);
        if (lookup.Status != AffinityLookupStatus.Found)
        {
            return new PinLookup(lookup.Status, null, NeedsRefresh: false);
        }

        _local.Set(clusterId, sessionId, lookup.DestinationId!, TimeToLive);
        return new PinLookup(AffinityLookupStatus.Found, lookup.DestinationId, NeedsRefresh: true);
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
        return status == AffinityWriteStatus.Stored;
    }
}

/// <summary>Result of <see cref="AffinityPins.LookUpAsync"/>.</summary>
internal readonly record struct PinLookup(AffinityLookupStatus Status, string? DestinationId, bool NeedsRefresh);
