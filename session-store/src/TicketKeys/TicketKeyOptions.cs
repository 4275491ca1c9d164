namespace Tandem.SessionStore.TicketKeys;

/// <summary>Rotation of the TLS session-ticket keys. Every node of a cluster needs the same values.</summary>
public sealed class TicketKeyOptions
{
    /// <summary>How long one key encrypts new tickets before the next one takes over.</summary>
    public TimeSpan RotationInterval { get; init; } = TimeSpan.FromHours(12);

    /// <summary>
    /// For how many intervals after it stops encrypting a key still decrypts tickets. A ticket is accepted for
    /// between <c>Overlap</c> and <c>Overlap + 1</c> intervals after it was issued.
    /// </summary>
    public int Overlap { get; init; } = 2;

    /// <summary>
    /// How often the node reads the keys again between rotations, so it picks up keys that another node created and
    /// leaves the degraded state soon after Redis comes back.
    /// </summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest time a ticket can be accepted, which is also the ticket lifetime sent to clients.</summary>
    public TimeSpan TicketLifetime => RotationInterval * Overlap;
}
