namespace Tandem.SessionStore.TicketKeys;

/// <summary>
/// The ticket keys a node uses at one moment: one key that encrypts new tickets and every key whose tickets are
/// still accepted. Immutable, so the TLS callback reads it without locks.
/// </summary>
public sealed class TicketKeySet
{
    internal TicketKeySet(TicketKey encryption, IReadOnlyList<TicketKey> decryption, bool isDegraded, DateTimeOffset refreshedAt)
    {
        Encryption = encryption;
        Decryption = decryption;
        IsDegraded = isDegraded;
        RefreshedAt = refreshedAt;
    }

    /// <summary>The key that encrypts new tickets.</summary>
    public TicketKey Encryption { get; }

    /// <summary>Every key whose tickets are accepted, the encryption key included, newest first.</summary>
    public IReadOnlyList<TicketKey> Decryption { get; }

    /// <summary>
    /// True when the last refresh could not reach the shared store, so this set is the cached one or a local key
    /// that other nodes do not know.
    /// </summary>
    public bool IsDegraded { get; }

    /// <summary>When the set was last built from the shared store, or made up locally.</summary>
    public DateTimeOffset RefreshedAt { get; }

    /// <summary>Finds the key whose name a ticket carries, or returns null when the key is unknown or retired.</summary>
    public TicketKey? Find(ReadOnlySpan<byte> name)
    {
        foreach (var key in Decryption)
        {
            if (key.Name.SequenceEqual(name))
            {
                return key;
            }
        }

        return null;
    }
}
