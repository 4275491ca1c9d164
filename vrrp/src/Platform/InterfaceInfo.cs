using System.Net;
using System.Net.NetworkInformation;

namespace Tandem.Vrrp.Platform;

/// <summary>What the speaker needs to know about its network interface, read once at start.</summary>
/// <param name="Name">Interface name, for example eth0.</param>
/// <param name="Index">Kernel interface index, used for multicast membership and IP_MULTICAST_IF.</param>
/// <param name="PrimaryAddress">
/// The source of our adverts: the first IPv4 address that is not a virtual address, or for an IPv6 router the first
/// link-local IPv6 address that is not a virtual one, without a scope id.
/// </param>
/// <param name="LocalAddresses">Every address of the router's family on the interface except the virtual ones, to recognise our own adverts.</param>
/// <param name="MacAddress">The interface's hardware address, the sender of gratuitous ARP and neighbour advertisements.</param>
internal sealed record InterfaceInfo(
    string Name,
    int Index,
    IPAddress PrimaryAddress,
    IReadOnlyList<IPAddress> LocalAddresses,
    PhysicalAddress MacAddress);
