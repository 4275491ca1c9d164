using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Authenticated destination hints for the affinity cookie, so a node can route a session while Redis is down and its
/// local cache has no pin, for example because the other node created the pin.
/// </summary>
/// <remarks>
/// A hint is 16 bytes written as 22 base64url characters: a key id (4 bytes, big endian) and the first 12 bytes of an HMAC-SHA256 over the cluster id, the session id and the destination id. The HMAC key
/// is derived with HKDF-SHA256 from that interval's session-ticket HMAC key, so every node that shares the ticket key
/// ring verifies every other node's hints, and no second secret needs distributing. The destination id itself is not
/// in the cookie. A node finds it by computing the tag for each destination of the cluster. The key id is the
/// ticket-key interval number, with the top bit set for a key that a node made up locally while Redis was unreachable,
/// so another node does not mistake it for the shared key of the same interval. A hint lives as long as
/// its ticket key is accepted, <c>Proxy:TicketKeyOverlap</c> intervals after the next key takes over, and the node
/// rewrites the cookie once a newer key encrypts.
/// </remarks>
internal sealed class DestinationHints
{
    public const int TextLength = 22;
    private const int ByteLength = 16;
    private const int TagLength = 12;
    private const int DerivedKeyLength = 32;
    private static readonly byte[] DerivationInfo = "tandem affinity destination hint v1"u8.ToArray();

    private readonly Func<TicketKeySet> _keys;

    public DestinationHints(TicketKeyRing ring)
        : this(() => ring.Current)
    {
    }

    internal DestinationHints(Func<TicketKeySet> keys) => _keys = keys;

    /// <summary>Creates the hint for a pin under the key that encrypts tickets now.</summary>
    public string Create(string clusterId, string sessionId, string destinationId)
    {
        var key = _keys().Encryption;
        Span<byte> hint = stackalloc byte[ByteLength];
        BinaryPrimitives.WriteUInt32BigEndian(hint, GetKeyId(key));
        ComputeTag(key, clusterId, sessionId, destinationId, hint[4..]);
        return Base64Url.EncodeToString(hint);
    }

    /// <summary>
    /// True when <paramref name="hint"/> names <paramref name="destinationId"/> under the key that encrypts tickets now.
    /// </summary>
    /// <remarks>
    /// The tag is checked as well as the key id. A key ring that lost its keys and made new ones reuses the interval
    /// numbers, so a hint under a lost key carries the current id but no longer verifies.
    /// </remarks>
    public bool IsCurrent(string hint, string clusterId, string sessionId, string destinationId)
    {
        var key = _keys().Encryption;
        if (!TryDecode(hint, out var keyId, out var tag) || keyId != GetKeyId(key))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[TagLength];
        ComputeTag(key, clusterId, sessionId, destinationId, expected);
        return CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <summary>
    /// Finds which of <paramref name="destinationIds"/> the hint names. Returns <see cref="HintStatus.Valid"/> with
    /// the id, or the reason the hint is treated as absent.
    /// </summary>
    public HintStatus Resolve(
        string clusterId,
        string sessionId,
        string hint,
        IEnumerable<string> destinationIds,
        out string? destinationId)
    {
        destinationId = null;
        if (!TryDecode(hint, out var keyId, out var tag))
        {
            return HintStatus.Malformed;
        }

        var key = _keys().Decryption.FirstOrDefault(candidate => GetKeyId(candidate) == keyId);
        if (key is null)
        {
            return HintStatus.KeyUnknown;
        }

        Span<byte> expected = stackalloc byte[TagLength];
        foreach (var candidate in destinationIds)
        {
            ComputeTag(key, clusterId, sessionId, candidate, expected);
            if (CryptographicOperations.FixedTimeEquals(expected, tag))
            {
                destinationId = candidate;
                return HintStatus.Valid;
            }
        }

        return HintStatus.NoMatch;
    }

    private static uint GetKeyId(TicketKey key) => ((uint)key.Epoch & 0x7FFF_FFFF) | (key.IsLocal ? 0x8000_0000 : 0);

    private static bool TryDecode(string hint, out uint keyId, out byte[] tag)
    {
        keyId = 0;
        tag = [];

        // 16 bytes in 22 characters have the same canonical form as a session id, so the same character check
        // applies, and it runs before decoding because the decoder throws on some invalid input.
        if (!SessionId.IsWellFormed(hint))
        {
            return false;
        }

        var bytes = Base64Url.DecodeFromChars(hint);
        keyId = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        tag = bytes[4..];
        return true;
    }

    private static void ComputeTag(TicketKey key, string clusterId, string sessionId, string destinationId, Span<byte> tag)
    {
        Span<byte> derived = stackalloc byte[DerivedKeyLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.HmacKey, derived, salt: [], DerivationInfo);

        // Each id is prefixed with its length, so no two triples of ids give the same input.
        string[] parts = [clusterId, sessionId, destinationId];
        var message = new byte[parts.Sum(part => 4 + Encoding.UTF8.GetByteCount(part))];
        var offset = 0;
        foreach (var part in parts)
        {
            var count = Encoding.UTF8.GetBytes(part, message.AsSpan(offset + 4));
            BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(offset), count);
            offset += 4 + count;
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(derived, message, mac);
        mac[..TagLength].CopyTo(tag);
        CryptographicOperations.ZeroMemory(derived);
    }
}

/// <summary>Outcome of <see cref="DestinationHints.Resolve"/>.</summary>
internal enum HintStatus
{
    Valid,

    /// <summary>Not 22 base64url characters in canonical form.</summary>
    Malformed,

    /// <summary>
    /// Made under a key id this node does not accept: expired, made with another node's local key, or from another key
    /// ring whose interval numbers differ.
    /// </summary>
    KeyUnknown,

    /// <summary>
    /// The tag matches no destination of the cluster under the key with the hint's id. The hint is forged, its
    /// destination was removed, or it was made under other material for the same interval, such as another key ring's.
    /// </summary>
    NoMatch,
}
