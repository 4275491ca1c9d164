namespace Tandem.SessionStore.TicketKeys;

/// <summary>Where the cluster's ticket keys live, one per rotation interval.</summary>
public interface ITicketKeyStorage
{
    /// <summary>Short name for logs, such as <c>redis</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Stores <paramref name="candidate"/> as the key of <paramref name="epoch"/> unless a key exists, atomically, and
    /// returns the stored key's material. Returns null when the storage is unreachable or the stored value is invalid.
    /// </summary>
    ValueTask<byte[]?> GetOrAddAsync(long epoch, byte[] candidate, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// Returns the material of each of <paramref name="epochs"/> that has a key, or null when the storage is
    /// unreachable.
    /// </summary>
    ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(IReadOnlyList<long> epochs, CancellationToken cancellationToken);
}
