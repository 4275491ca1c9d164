using System.Collections.Concurrent;

namespace Tandem.SessionStore;

/// <summary>
/// Affinity pins held in this process's memory, with expiry on a <see cref="TimeProvider"/> and a cap on the entry
/// count. It serves as the store of a single node and as the node-local cache in front of Redis.
/// </summary>
/// <remarks>
/// Expired entries are dropped when they are read and by a sweep that runs when the count reaches the capacity.
/// If the sweep finds too few expired entries, it drops arbitrary live ones down to 90% of the capacity, so the
/// affected sessions get a new pin on their next request.
/// </remarks>
public sealed class InProcessAffinityStore : IAffinityStore
{
    private readonly ConcurrentDictionary<(string ClusterId, string SessionId), Entry> _entries = new();
    private readonly TimeProvider _timeProvider;
    private readonly Lock _sweepLock = new();
    private int _count;

    public InProcessAffinityStore(TimeProvider timeProvider, int capacity)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);

        _timeProvider = timeProvider;
        Capacity = capacity;
    }

    public string Name => "in-process";

    /// <summary>Maximum number of pins kept before the sweep drops entries.</summary>
    public int Capacity { get; }

    /// <summary>Approximate number of pins, exact right after each sweep.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Looks up a pin without waiting; also returns when the pin expires.</summary>
    public bool TryGet(string clusterId, string sessionId, out string destinationId, out DateTimeOffset expiresAt) =>
        TryGet(clusterId, sessionId, out destinationId, out expiresAt, out _);

    /// <summary>
    /// Looks up a pin without waiting; also returns when the pin expires and when <see cref="MarkShared"/> last
    /// recorded that a shared store confirmed it, or null if never.
    /// </summary>
    public bool TryGet(
        string clusterId,
        string sessionId,
        out string destinationId,
        out DateTimeOffset expiresAt,
        out DateTimeOffset? sharedAt)
    {
        var key = (clusterId, sessionId);
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.ExpiresAt > _timeProvider.GetUtcNow())
            {
                destinationId = entry.DestinationId;
                expiresAt = entry.ExpiresAt;
                sharedAt = entry.SharedAt;
                return true;
            }

            // Remove only this exact entry, so a pin written since the read survives.
            if (_entries.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        destinationId = "";
        expiresAt = default;
        sharedAt = null;
        return false;
    }

    /// <summary>
    /// Records that a shared store confirmed the pin at <paramref name="sharedAt"/>. Does nothing when the pin is gone
    /// or now names another destination, because that newer pin still needs its own write.
    /// </summary>
    public void MarkShared(string clusterId, string sessionId, string destinationId, DateTimeOffset sharedAt)
    {
        var key = (clusterId, sessionId);
        if (_entries.TryGetValue(key, out var entry)
            && string.Equals(entry.DestinationId, destinationId, StringComparison.Ordinal))
        {
            _entries.TryUpdate(key, entry with { SharedAt = sharedAt }, entry);
        }
    }

    /// <summary>Pins a session id without waiting, replacing any earlier pin.</summary>
    public void Set(string clusterId, string sessionId, string destinationId, TimeSpan timeToLive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);

        var key = (clusterId, sessionId);
        var entry = new Entry(destinationId, _timeProvider.GetUtcNow() + timeToLive, SharedAt: null);

        if (_entries.TryAdd(key, entry))
        {
            if (Interlocked.Increment(ref _count) >= Capacity)
            {
                Sweep(key);
            }

            return;
        }

        // A concurrent removal between TryAdd and this line makes the indexer add without counting. The next sweep
        // corrects the count.
        _entries[key] = entry;
    }

    /// <summary>
    /// Removes a pin, so the next lookup goes to the shared store. With <paramref name="destinationId"/> set, it
    /// removes the pin only while it still names that destination, so a pin written since the caller read it stays.
    /// Returns true when it removed an entry.
    /// </summary>
    public bool Remove(string clusterId, string sessionId, string? destinationId = null)
    {
        var key = (clusterId, sessionId);
        if (!_entries.TryGetValue(key, out var entry)
            || (destinationId is not null && !string.Equals(entry.DestinationId, destinationId, StringComparison.Ordinal)))
        {
            return false;
        }

        if (!_entries.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry)))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>
    /// Returns a snapshot of the pins that have not expired. Pins written while it runs may be missing from it.
    /// </summary>
    public IReadOnlyList<(string ClusterId, string SessionId, string DestinationId)> GetEntries()
    {
        var now = _timeProvider.GetUtcNow();
        var entries = new List<(string, string, string)>(Count);
        foreach (var pair in _entries)
        {
            if (pair.Value.ExpiresAt > now)
            {
                entries.Add((pair.Key.ClusterId, pair.Key.SessionId, pair.Value.DestinationId));
            }
        }

        return entries;
    }

    public ValueTask<AffinityLookup> GetAsync(string clusterId, string sessionId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        var lookup = TryGet(clusterId, sessionId, out var destinationId, out _)
            ? AffinityLookup.Found(destinationId)
            : AffinityLookup.NotFound;
        return ValueTask.FromResult(lookup);
    }

    public ValueTask<AffinityWriteStatus> SetAsync(
        string clusterId,
        string sessionId,
        string destinationId,
        TimeSpan timeToLive,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        Set(clusterId, sessionId, destinationId, timeToLive);
        return ValueTask.FromResult(AffinityWriteStatus.Stored);
    }

    /// <summary>Drops expired entries, then arbitrary ones down to 90% of the capacity, never <paramref name="justWritten"/>.</summary>
    private void Sweep((string, string) justWritten)
    {
        lock (_sweepLock)
        {
            if (Volatile.Read(ref _count) < Capacity)
            {
                // Another thread swept while this one waited for the lock.
                return;
            }

            var now = _timeProvider.GetUtcNow();
            var target = Capacity - Math.Max(1, Capacity / 10);
            var keptCount = 0;

            foreach (var pair in _entries)
            {
                if (pair.Key == justWritten)
                {
                    // The caller is about to hand this pin to a client.
                    keptCount++;
                    continue;
                }

                var expired = pair.Value.ExpiresAt <= now;
                if ((expired || keptCount >= target) && _entries.TryRemove(pair))
                {
                    continue;
                }

                keptCount++;
            }

            Volatile.Write(ref _count, keptCount);
        }
    }

    private sealed record Entry(string DestinationId, DateTimeOffset ExpiresAt, DateTimeOffset? SharedAt);
}
