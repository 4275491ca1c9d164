using System.ComponentModel;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Arp;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Ndp;

namespace Tandem.Vrrp.Platform;

/// <summary>The real platform: Linux interfaces, a raw IPv4 or IPv6 socket, rtnetlink and libpcap.</summary>
internal sealed class LinuxVrrpPlatform : IVrrpPlatform
{
    private const int ErrnoPermissionDenied = 1;
    private const int ErrnoAccessDenied = 13;

    private readonly VrrpOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;

    public LinuxVrrpPlatform(VrrpOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _options = options;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        Addresses = new NetlinkAddressConfigurator(loggerFactory.CreateLogger(VrrpLogCategories.Addresses));
    }

    public IAddressConfigurator Addresses { get; }

    public IReadOnlyCollection<string>? ListInterfaceNames() => VrrpOptions.ListInterfaceNames();

    public InterfaceInfo ResolveInterface(string name, IReadOnlyCollection<IPAddress> virtualAddresses)
    {
        var networkInterface = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)
            ?? throw new InvalidOperationException($"Vrrp:Interface '{name}' was not found. Set it to one of the interfaces that 'ip link' lists.");

        var properties = networkInterface.GetIPProperties();
        if (virtualAddresses.FirstOrDefault()?.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return ResolveIpv6Interface(networkInterface, properties, virtualAddresses);
        }

        int index;
        try
        {
            index = properties.GetIPv4Properties().Index;
        }
        catch (NetworkInformationException ex)
        {
            throw new InvalidOperationException($"Vrrp:Interface '{name}' has no IPv4 configuration. Give it an IPv4 address with 'ip addr add'.", ex);
        }

        // The kernel lists addresses in the order they were added, so the first one is the interface's primary
        // address. Virtual addresses are skipped because they come and go with the Master state.
        var local = properties.UnicastAddresses
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !virtualAddresses.Contains(a))
            .ToList();
        if (local.Count == 0)
        {
            throw new InvalidOperationException($"Vrrp:Interface '{name}' has no IPv4 address other than the virtual ones. Adverts need the interface's own address as their source; add one with 'ip addr add'.");
        }

        return new InterfaceInfo(name, index, local[0], local, networkInterface.GetPhysicalAddress());
    }

    /// <summary>
    /// Reads the IPv6 side of the interface. The primary address is the first link-local address that is not a
    /// virtual one, because RFC 9568 §5.1.2.1 sends adverts from the interface's link-local address.
    /// </summary>
    private static InterfaceInfo ResolveIpv6Interface(NetworkInterface networkInterface, IPInterfaceProperties properties, IReadOnlyCollection<IPAddress> virtualAddresses)
    {
        var name = networkInterface.Name;
        int index;
        try
        {
            index = properties.GetIPv6Properties().Index;
        }
        catch (NetworkInformationException ex)
        {
            throw new InvalidOperationException($"Vrrp:Interface '{name}' has no IPv6 configuration. Enable IPv6 on it (sysctl net.ipv6.conf.{name}.disable_ipv6=0).", ex);
        }

        // .NET reports link-local addresses with the interface index as scope; the speaker compares them without it.
        var local = properties.UnicastAddresses
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetworkV6)
            .Select(a => new IPAddress(a.GetAddressBytes()))
            .Where(a => !virtualAddresses.Contains(a))
            .ToList();
        var linkLocal = local.FirstOrDefault(a => a.IsIPv6LinkLocal)
            ?? throw new InvalidOperationException($"Vrrp:Interface '{name}' has no IPv6 link-local address other than the virtual ones. Adverts over IPv6 leave from it (RFC 9568 §5.1.2.1); bring the interface up with IPv6 enabled, or add one with 'ip -6 addr add fe80::…/64 dev {name}'.");

        return new InterfaceInfo(name, index, linkLocal, local, networkInterface.GetPhysicalAddress());
    }

    public IVrrpTransport OpenTransport(InterfaceInfo info)
    {
        try
        {
            var unicast = _options.UnicastPeers is { Count: > 0 };
            return info.PrimaryAddress.AddressFamily == AddressFamily.InterNetworkV6
                ? RawIpv6SocketTransport.Open(info, unicast)
                : RawSocketTransport.Open(info, unicast);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            // The IPv6 socket binds to the link-local address, which the kernel refuses while DAD still runs on it.
            throw new InvalidOperationException($"Binding the raw VRRP socket to {info.PrimaryAddress} on {info.Name} failed: the address is not usable yet. Wait until 'ip -6 addr show dev {info.Name}' no longer lists it as tentative, then start the node again.", ex);
        }
        catch (SocketException ex)
        {
            // SocketException derives from Win32Exception, so it is caught first: it comes from a socket option.
            throw new InvalidOperationException($"Configuring the raw VRRP socket on {info.Name} (index {info.Index}) failed: {ex.SocketErrorCode}. Check that the interface exists and supports multicast.", ex);
        }
        catch (Win32Exception ex) when (ex.NativeErrorCode is ErrnoPermissionDenied or ErrnoAccessDenied)
        {
            throw new InvalidOperationException($"Opening a raw VRRP socket on {info.Name} was denied. Run the node as root or grant it CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN).", ex);
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Creating a raw VRRP socket failed: {ex.Message}.", ex);
        }
    }

    public IGratuitousArpSender CreateGratuitousArpSender(InterfaceInfo info, VrrpCounters counters) =>
        info.PrimaryAddress.AddressFamily == AddressFamily.InterNetworkV6
            ? new PcapNeighborAdvertisementSender(
                info,
                _options.GratuitousArpCount,
                TimeSpan.FromMilliseconds(_options.GratuitousArpIntervalMilliseconds),
                _options.NeighborAdvertisementRouterFlag,
                _timeProvider,
                counters,
                _loggerFactory.CreateLogger(VrrpLogCategories.Ndp))
            : new PcapGratuitousArpSender(
            info,
            _options.GratuitousArpCount,
            TimeSpan.FromMilliseconds(_options.GratuitousArpIntervalMilliseconds),
            _timeProvider,
            counters,
            _loggerFactory.CreateLogger(VrrpLogCategories.Arp));
}
