namespace Tandem.Node.SessionAffinity;

/// <summary>Why an affinity cookie was treated as absent, so the request got a new pin.</summary>
public enum CookieRejectReason
{
    /// <summary>The value is not a session id the node could have issued: wrong length, alphabet or encoding.</summary>
    Malformed,

    /// <summary>The id is well formed, but no pin exists for it: expired, evicted or forged.</summary>
    Unknown,

    /// <summary>The shared store did not reply in time or failed, and this node has no copy of the pin.</summary>
    StoreUnavailable,

    /// <summary>The cookie's destination hint is not in the form the node writes.</summary>
    HintMalformed,

    /// <summary>
    /// The destination hint carries a ticket key id that this node does not accept, because the key is too old, was
    /// another node's local key, or comes from another key ring whose interval numbers differ.
    /// </summary>
    HintKeyUnknown,

    /// <summary>
    /// The destination hint matches no destination of the cluster under the key with its id: forged, its destination
    /// was removed, or made under other material for the same interval, as from another key ring.
    /// </summary>
    HintNoMatch,
}
