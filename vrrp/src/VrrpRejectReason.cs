namespace Tandem.Vrrp;

/// <summary>
/// Why a received VRRP packet was discarded as invalid. The members follow the order in which the checks run,
/// which is the order of RFC 9568 §7.1 after the IPv4 header checks.
/// </summary>
public enum VrrpRejectReason
{
    /// <summary>The IPv4 header is truncated, is not version 4, or its lengths do not match the received bytes.</summary>
    MalformedIpHeader,

    /// <summary>The IPv4 protocol is not 112 (VRRP).</summary>
    NotVrrpProtocol,

    /// <summary>The IPv4 TTL is not 255, so the packet may have crossed a router (RFC 9568 §7.1).</summary>
    TtlNot255,

    /// <summary>The VRRP message is shorter than its 8-byte fixed header.</summary>
    TooShort,

    /// <summary>The VRRP version is not the one this virtual router runs.</summary>
    BadVersion,

    /// <summary>The VRRP type is not 1 (ADVERTISEMENT).</summary>
    BadType,

    /// <summary>The Count IPvX Addr field is zero; an advertisement carries at least one address.</summary>
    NoAddresses,

    /// <summary>The message length does not equal the fixed header plus Count IPvX Addr addresses.</summary>
    LengthMismatch,

    /// <summary>The VRRP checksum does not match the message and its IPv4 pseudo-header.</summary>
    BadChecksum,

    /// <summary>The Max Adver Int field is zero (RFC 9568 §7.1).</summary>
    ZeroInterval,
}
