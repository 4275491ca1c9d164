namespace Tandem.SessionStore.TicketKeys;

/// <summary>Ticket keys kept in this process, for a single node without Redis. A restart makes new keys.</summary>
public sealed class InProcessTicketKeyStorage : ITicketKeyStorage
{
    private readonly Dictionary<long, byte[]> _keys = [];
    private readonly Lock _lock = new();

    public string Name => "in-process";

    public ValueTask<byte[]?> GetOrAddAsync(long epoch, byte[] candidate, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Without an expiry, drop keys far behind the requested one so the table stays small.
            _keys.Keys.Where(stored => stored < epoch - 64).ToList().ForEach(stale => _keys.Remove(stale));
            if (!_keys.TryGetValue(epoch, out var material))
            {
                material = candidate;
                _keys[epoch] = material;
            }

            return ValueTask.FromResult<byte[]?>(material);
        }
    }

    public ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(IReadOnlyList<long> epochs, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var found = new Dictionary<long, byte[]>();
            foreach (var epoch in epochs)
            {
                if (_keys.TryGetValue(epoch, out var material))
                {
                    found[epoch] = material;
                }
            }

            return ValueTask.FromResult<IReadOnlyDictionary<long, byte[]>?>(found);
        }
    }
}
