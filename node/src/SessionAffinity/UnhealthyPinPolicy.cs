namespace Tandem.Node.SessionAffinity;

/// <summary>
/// What the <c>ClusterCookie</c> policy does when a session's pinned destination is unhealthy or gone, set by
/// <c>SessionStore:UnhealthyPinPolicy</c>.
/// </summary>
public enum UnhealthyPinPolicy
{
    /// <summary>
    /// Pins the session to a healthy destination chosen by rendezvous hashing of the session id, so every node picks
    /// the same one, and rewrites the cookie.
    /// </summary>
    Repin,

    /// <summary>Answers 503 Service Unavailable and keeps the pin, for applications whose session state lives on one destination.</summary>
    Fail,
}
