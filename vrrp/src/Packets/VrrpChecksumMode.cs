namespace Tandem.Vrrp.Packets;

/// <summary>What the checksum of a VRRPv3 advert over IPv4 covers (<c>Vrrp:ChecksumMode</c>).</summary>
/// <remarks>VRRPv2 has one form only: RFC 3768 §5.3.8 sums the VRRP message alone.</remarks>
internal enum VrrpChecksumMode
{
    /// <summary>
    /// The IPv4 pseudo-header (source, destination, zero, protocol 112, length) and the message. keepalived 2.2.7,
    /// FRR vrrpd and Wireshark 4.0 compute it this way.
    /// </summary>
    PseudoHeader,

    /// <summary>The message alone, as in VRRPv2. Some implementations read RFC 9568 §5.2.8 this way for IPv4.</summary>
    MessageOnly,
}
