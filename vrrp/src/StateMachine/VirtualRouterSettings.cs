using System.Net;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.StateMachine;

/// <summary>The per-router constants of RFC 9568 §6.1 (RFC 3768 §6.1 for VRRPv2) that the state machine needs.</summary>
/// <param name="VirtualRouterId">VRID.</param>
/// <param name="Priority">Local priority, 1 to 255; 255 makes this router the address owner.</param>
/// <param name="AdvertisementIntervalCentiseconds">Advertisement_Interval, sent in our adverts.</param>
/// <param name="PreemptMode">Preempt_Mode.</param>
/// <param name="PrimaryAddress">Our primary IPvX address, the source of our adverts and the tie-breaker at equal priority.</param>
/// <param name="Version">The protocol version, which decides Skew_Time and whether a backup adopts the master's interval.</param>
/// <param name="PreemptDelay">How long after the start a backup does not preempt a lower-priority master; zero preempts at once.</param>
/// <param name="GratuitousArpMasterDelay">Delay of the second gratuitous ARP burst after becoming master; zero sends none.</param>
/// <param name="GratuitousArpRefresh">Period of the gratuitous ARP bursts while master; zero sends none.</param>
internal sealed record VirtualRouterSettings(
    byte VirtualRouterId,
    byte Priority,
    int AdvertisementIntervalCentiseconds,
    bool PreemptMode,
    IPAddress PrimaryAddress,
    VrrpVersion Version = VrrpVersion.V3,
    TimeSpan PreemptDelay = default,
    TimeSpan GratuitousArpMasterDelay = default,
    TimeSpan GratuitousArpRefresh = default)
{
    /// <summary>The priority of the router that owns the virtual addresses (RFC 9568 §5.2.4).</summary>
    public const byte OwnerPriority = 255;
}
