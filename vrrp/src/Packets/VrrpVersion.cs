namespace Tandem.Vrrp.Packets;

/// <summary>VRRP protocol versions, as carried in the Version field of an advertisement.</summary>
internal enum VrrpVersion : byte
{
    /// <summary>RFC 3768, IPv4 only, Advertisement_Interval in whole seconds, optional simple text password.</summary>
    V2 = 2,

    /// <summary>RFC 9568 (which obsoletes RFC 5798), IPv4 and IPv6, Max Adver Int in centiseconds.</summary>
    V3 = 3,
}
