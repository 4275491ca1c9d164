namespace Tandem.SessionStore.TicketKeys;

/// <summary>
/// One TLS session-ticket key: a 16-byte key name that the ticket carries in clear, an AES-256 key that encrypts the
/// ticket and an HMAC-SHA256 key that authenticates it (the layout of RFC 5077 §4's recommended ticket format).
/// </summary>
/// <remarks>
/// The key material never leaves this class through <see cref="ToString"/>, so logs, status and metrics can only show
/// <see cref="Id"/> and the age.
/// </remarks>
public sealed class TicketKey
{
    public const int NameLength = 16;
    public const int AesKeyLength = 32;
    public const int HmacKeyLength = 32;

    /// <summary>Length of the stored material: name, AES key and HMAC key in that order.</summary>
    public const int MaterialLength = NameLength + AesKeyLength + HmacKeyLength;

    private readonly byte[] _material;

    internal TicketKey(long epoch, byte[] material, DateTimeOffset validFrom, bool isLocal)
    {
        if (material.Length != MaterialLength)
        {
            throw new ArgumentException($"Ticket key material must be {MaterialLength} bytes, not {material.Length}.", nameof(material));
        }

        Epoch = epoch;
        _material = material;
        ValidFrom = validFrom;
        IsLocal = isLocal;
    }

    /// <summary>Number of the rotation interval, counted from the Unix epoch, in which this key encrypts new tickets.</summary>
    public long Epoch { get; }

    /// <summary>Start of the rotation interval in which this key encrypts new tickets.</summary>
    public DateTimeOffset ValidFrom { get; }

    /// <summary>
    /// True for a key this node made up on its own because the shared store was unreachable, so no other node can
    /// decrypt its tickets.
    /// </summary>
    public bool IsLocal { get; }

    /// <summary>The identifier shown in logs and status: the interval number, with <c>local-</c> for a local key.</summary>
    public string Id => IsLocal ? $"local-{Epoch}" : Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public ReadOnlySpan<byte> Name => _material.AsSpan(0, NameLength);

    public ReadOnlySpan<byte> AesKey => _material.AsSpan(NameLength, AesKeyLength);

    public ReadOnlySpan<byte> HmacKey => _material.AsSpan(NameLength + AesKeyLength, HmacKeyLength);

    /// <summary>Copies the stored material, so the ring can write a key back to the storage that lost it.</summary>
    internal byte[] CopyMaterial() => (byte[])_material.Clone();

    public override string ToString() => Id;
}
