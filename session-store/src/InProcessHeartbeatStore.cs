namespace Tandem.SessionStore;

/// <summary>
/// Heartbeats kept in this process, for a single node without Redis. Only the heartbeats this node writes are
/// visible, so the cluster view it yields contains this node alone.
/// </summary>
public sealed class InProcessHeartbeatStore(TimeProvider timeProvider) : IHeartbeatStore
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<bool> PublishAsync(string nodeName, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            _entries[nodeName] = new Entry(payload.ToArray(), timeProvider.GetUtcNow(), timeToLive);
        }

        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> RemoveAsync(string nodeName, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _entries.Remove(nodeName);
        }

        return ValueTask.FromResult(true);
    }

    public ValueTask<HeartbeatRead> ReadAllAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = timeProvider.GetUtcNow();
        var heartbeats = new List<Heartbeat>();
        lock (_lock)
        {
            foreach (var (nodeName, entry) in _entries.ToList())
            {
                var age = now - entry.WrittenAt;
                if (age >= entry.TimeToLive)
                {
                    _entries.Remove(nodeName);
                    continue;
                }

                heartbeats.Add(new Heartbeat(nodeName, entry.Payload, age, entry.TimeToLive));
            }
        }

        heartbeats.Sort(static (a, b) => string.CompareOrdinal(a.NodeName, b.NodeName));
        return ValueTask.FromResult(new HeartbeatRead(true, heartbeats, null));
    }

    private sealed record Entry(byte[] Payload, DateTimeOffset WrittenAt, TimeSpan TimeToLive);
}
