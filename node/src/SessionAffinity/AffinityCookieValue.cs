using System.Diagnostics.CodeAnalysis;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// The affinity cookie's value: a session id alone (22 characters), or a session id, a dot and a destination hint
/// (45 characters). Both characters sets are base64url, so the dot separates them without escaping.
/// </summary>
internal static class AffinityCookieValue
{
    private const char Separator = '.';

    public static string Format(string sessionId, string hint) => $"{sessionId}{Separator}{hint}";

    /// <summary>
    /// Splits <paramref name="value"/>. Returns false when the session id is not well formed. A hint part of the
    /// wrong length is returned as is, so the caller counts it as a malformed hint.
    /// </summary>
    public static bool TryParse(string value, [NotNullWhen(true)] out string? sessionId, out string? hint)
    {
        hint = null;
        sessionId = value.Length > SessionId.TextLength && value[SessionId.TextLength] == Separator
            ? value[..SessionId.TextLength]
            : value;
        if (!SessionId.IsWellFormed(sessionId))
        {
            sessionId = null;
            return false;
        }

        if (value.Length > SessionId.TextLength)
        {
            hint = value[(SessionId.TextLength + 1)..];
        }

        return true;
    }
}
