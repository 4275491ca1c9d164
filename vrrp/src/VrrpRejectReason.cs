namespace Tandem.Vrrp;

/// <summary>
/// Why a received VRRP packet was discarded as invalid. The reader runs the checks in the order of RFC 9568 §7.1
/// (VRRPv3) or RFC 3768 §7.1 (VRRPv2) after the IPv4 header checks. Members added after <see cref="ZeroInterval"/>
/// come last so that the existing numeric values stay the same.
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

    /// <summary>
    /// The VRRP checksum does not match the form this router expects: for VRRPv3 the one set by
    /// <c>Vrrp:ChecksumMode</c>, for VRRPv2 the message alone.
    /// </summary>
    BadChecksum,

    /// <summary>The Max Adver Int field is zero (RFC 9568 §7.1).</summary>
    ZeroInterval,

    /// <summary>Unicast mode: the source address is not one of <c>Vrrp:UnicastPeers</c>.</summary>
    UnknownUnicastPeer,

    /// <summary>VRRPv2: the Auth Type differs from ours (0 without a password, 1 with <c>Vrrp:AuthenticationPassword</c>).</summary>
    AuthTypeMismatch,

    /// <summary>VRRPv2: the simple text password differs from <c>Vrrp:AuthenticationPassword</c>.</summary>
    AuthenticationFailed,

    /// <summary>VRRPv2: the Adver Int differs from our <c>Vrrp:AdvertisementIntervalCentiseconds</c> (RFC 3768 §7.1).</summary>
    IntervalMismatch,
}
