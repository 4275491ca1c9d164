using System.Net;
using Tandem.Vrrp.Addresses;

namespace Tandem.Vrrp.Platform;

/// <summary>The operating-system services a speaker uses, so that tests can replace them.</summary>
internal interface IVrrpPlatform
{
    /// <summary>Returns the names of the interfaces that exist, or null when they cannot be listed.</summary>
    IReadOnlyCollection<string>? ListInterfaceNames();

    /// <summary>Reads the interface's index, addresses and MAC; throws <see cref="InvalidOperationException"/> with the fix when it is unusable.</summary>
    InterfaceInfo ResolveInterface(string name, IReadOnlyCollection<IPAddress> virtualAddresses);

    /// <summary>Opens the socket that sends and receives adverts on the interface.</summary>
    IVrrpTransport OpenTransport(InterfaceInfo info);

    /// <summary>Adds and removes virtual addresses.</summary>
    IAddressConfigurator Addresses { get; }

    /// <summary>
    /// Creates the sender of gratuitous ARP frames (IPv4) or unsolicited neighbour advertisements (IPv6) for the
    /// interface. A libpcap that fails to load or open is logged, not thrown.
    /// </summary>
    IGratuitousArpSender CreateGratuitousArpSender(InterfaceInfo info, VrrpCounters counters);
}

/// <summary>A socket that sends VRRP messages to the multicast group or to unicast peers and receives datagrams of protocol 112.</summary>
internal interface IVrrpTransport : IDisposable
{
    /// <summary>Sends one VRRP message to <paramref name="destination"/>; the kernel adds the IP header with TTL or hop limit 255.</summary>
    void Send(ReadOnlySpan<byte> vrrpMessage, IPAddress destination);

    /// <summary>
    /// Receives one datagram, IP header included, and returns its length. Over IPv6 the header is the fixed one that
    /// the transport rebuilds from ancillary data.
    /// </summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}

/// <summary>Adds and removes addresses on an interface; both operations succeed when the address is already in the wanted state.</summary>
internal interface IAddressConfigurator
{
    /// <summary>Returns true when the address is on the interface afterwards.</summary>
    Task<bool> AddAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken);

    /// <summary>Returns true when the address is not on the interface afterwards.</summary>
    Task<bool> RemoveAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken);
}

/// <summary>Announces virtual addresses with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6).</summary>
internal interface IGratuitousArpSender : IDisposable
{
    /// <summary>Sends the configured number of rounds of frames for every address; returns early when cancelled.</summary>
    Task AnnounceAsync(IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken);
}
