using System.Buffers.Text;
using System.Security.Cryptography;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Opaque session ids for the affinity cookie: 128 random bits from a cryptographic generator, written as 22
/// base64url characters without padding, so they are safe in a cookie value and in a Redis key.
/// </summary>
internal static class SessionId
{
    public const int ByteLength = 16;
    public const int TextLength = 22;

    public static string Create()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// True when <paramref name="value"/> is exactly what <see cref="Create"/> could have returned. Other spellings
    /// of the same bytes are rejected, so one session cannot appear under two keys.
    /// </summary>
    public static bool IsWellFormed(string value)
    {
        if (value.Length != TextLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[ByteLength];
        if (!Base64Url.TryDecodeFromChars(value, bytes, out var written) || written != ByteLength)
        {
            return false;
        }

        Span<char> canonical = stackalloc char[TextLength];
        return Base64Url.TryEncodeToChars(bytes, canonical, out var charsWritten)
            && charsWritten == TextLength
            && canonical.SequenceEqual(value);
    }

    /// <summary>The first characters of a well-formed id, enough to correlate log lines without exposing the id.</summary>
    public static string Redact(string sessionId) => sessionId.Length <= 6 ? "…" : sessionId[..6] + "…";
}
