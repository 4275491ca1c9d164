using System.Net;
using System.Net.Sockets;

namespace Tandem.Vrrp.Packets;

/// <summary>
/// The fields of a VRRP ADVERTISEMENT (RFC 9568 §5.2, RFC 3768 §5.3), without the checksum and the VRRPv2
/// Authentication Data.
/// </summary>
/// <param name="Version">Protocol version.</param>
/// <param name="VirtualRouterId">VRID, 1 to 255.</param>
/// <param name="Priority">Sender priority; 0 means the master is leaving, 255 means the address owner.</param>
/// <param name="MaxAdvertisementIntervalCentiseconds">
/// Max Adver Int (VRRPv3, 12 bits, centiseconds), or Adver Int (VRRPv2, 8 bits, whole seconds) converted to centiseconds.
/// </param>
/// <param name="Addresses">The virtual addresses, all of one address family.</param>
internal sealed record VrrpAdvertisement(
    VrrpVersion Version,
    byte VirtualRouterId,
    byte Priority,
    ushort MaxAdvertisementIntervalCentiseconds,
    IReadOnlyList<IPAddress> Addresses)
{
    /// <summary>The advertisement type, the only one VRRP defines (RFC 9568 §5.2.2).</summary>
    public const byte TypeAdvertisement = 1;

    /// <summary>Largest value of the 12-bit Max Adver Int field.</summary>
    public const ushort MaxIntervalCentiseconds = 0x0FFF;

    /// <summary>Largest value of the 8-bit VRRPv2 Adver Int field, in seconds.</summary>
    public const int MaxVersion2IntervalSeconds = 255;

    /// <summary>The VRRPv2 Auth Type field (RFC 3768 §5.3.6); always 0 for VRRPv3, which has no such field.</summary>
    public byte AuthenticationType { get; init; }

    /// <summary>The address family of <see cref="Addresses"/>, which decides the address size and the pseudo-header.</summary>
    public AddressFamily AddressFamily => Addresses.Count > 0 ? Addresses[0].AddressFamily : AddressFamily.InterNetwork;
}
