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
    /// <remarks>
    /// The check reads characters only. Base64Url.TryDecodeFromChars throws FormatException on some invalid input
    /// (seen with .NET 10.0.12), and a cookie from a client must not raise an exception.
    /// </remarks>
    public static bool IsWellFormed(string value)
    {
        if (value.Length != TextLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        // 22 characters carry 132 bits for 128 bits of data, so the last character's low 4 bits are zero in the
        // canonical encoding. That leaves A (0), Q (16), g (32) and w (48).
        return value[^1] is 'A' or 'Q' or 'g' or 'w';
    }

    /// <summary>The first characters of a well-formed id, enough to correlate log lines without exposing the id.</summary>
    public static string Redact(string sessionId) => sessionId.Length <= 6 ? "…" : sessionId[..6] + "…";
}
