using System.ComponentModel;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Arp;
using Tandem.Vrrp.Diagnostics;

namespace Tandem.Vrrp.Platform;

/// <summary>The real platform: Linux interfaces, a raw socket, iproute2 and libpcap.</summary>
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
        Addresses = new IpCommandAddressConfigurator(timeProvider, loggerFactory.CreateLogger(VrrpLogCategories.Addresses));
    }

    public IAddressConfigurator Addresses { get; }

    public IReadOnlyCollection<string>? ListInterfaceNames() => VrrpOptions.ListInterfaceNames();

    public InterfaceInfo ResolveInterface(string name, IReadOnlyCollection<IPAddress> virtualAddresses)
    {
        var networkInterface = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)
            ?? throw new InvalidOperationException($"Vrrp:Interface '{name}' was not found. Set it to one of the interfaces that 'ip link' lists.");

        var properties = networkInterface.GetIPProperties();
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

    public IVrrpTransport OpenTransport(InterfaceInfo info)
    {
        try
        {
            return RawSocketTransport.Open(info, unicast: _options.UnicastPeers is { Count: > 0 });
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
        new PcapGratuitousArpSender(
            info,
            _options.GratuitousArpCount,
            TimeSpan.FromMilliseconds(_options.GratuitousArpIntervalMilliseconds),
            _timeProvider,
            counters,
            _loggerFactory.CreateLogger(VrrpLogCategories.Arp));
}
