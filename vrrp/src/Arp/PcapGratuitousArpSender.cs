using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Arp;

/// <summary>
/// Sends gratuitous ARP for the virtual addresses through libpcap, so that hosts and switches on the link learn that
/// the addresses moved to this node's MAC address (RFC 9568 §6.4.2).
/// </summary>
/// <remarks>
/// SharpPcap 6.3.1 registers its own DllImport resolver that tries libpcap.so, libpcap.so.0, libpcap.so.0.8 and
/// libpcap.so.1, so Debian's runtime package libpcap0.8, which ships only libpcap.so.0.8, loads without a symlink
/// or the -dev package (checked on Debian 12 with libpcap 1.10.3). A process can register one resolver per
/// assembly and SharpPcap has already registered it, so this class adds none. It reports a missing library with
/// the package to install instead.
/// NOTE: the frames carry the interface's own MAC address. RFC 9568 wants the virtual router MAC
/// 00-00-5E-00-01-{VRID}, which needs a macvlan device that this release does not create (keepalived's default
/// without use_vmac behaves the same way).
/// </remarks>
internal sealed partial class PcapGratuitousArpSender : IGratuitousArpSender
{
    private readonly InterfaceInfo _interface;
    private readonly int _count;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _timeProvider;
    private readonly VrrpCounters _counters;
    private readonly ILogger _logger;
    private LibPcapLiveDevice? _device;

    public PcapGratuitousArpSender(InterfaceInfo info, int count, TimeSpan interval, TimeProvider timeProvider, VrrpCounters counters, ILogger logger)
    {
        _interface = info;
        _count = count;
        _interval = interval;
        _timeProvider = timeProvider;
        _counters = counters;
        _logger = logger;

        // Opening at start surfaces a missing libpcap or capability in the startup log, not at the first failover.
        if (_count > 0)
        {
            TryOpen();
        }
    }

    public async Task AnnounceAsync(IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken)
    {
        if (_count == 0 || addresses.Count == 0)
        {
            return;
        }

        if (_device is null && !TryOpen())
        {
            _counters.OnGratuitousArpFailures((long)_count * addresses.Count);
            return;
        }

        var frames = addresses.Select(BuildFrame).ToArray();
        for (var round = 0; round < _count; round++)
        {
            if (round > 0 && _interval > TimeSpan.Zero)
            {
                await Task.Delay(_interval, _timeProvider, cancellationToken);
            }

            for (var i = 0; i < frames.Length; i++)
            {
                try
                {
                    _device!.SendPacket(frames[i]);
                    _counters.OnGratuitousArpSent();
                }
                catch (PcapException ex)
                {
                    _counters.OnGratuitousArpFailures(1);
                    Log.SendFailed(_logger, addresses[i], _interface.Name, ex);
                }
            }
        }

        Log.Sent(_logger, _count, addresses.Count, _interface.Name, _interface.MacAddress);
    }

    /// <summary>
    /// Builds a broadcast ARP request from the interface's MAC address whose sender and target protocol addresses
    /// are both the virtual address, the ARP Announcement of RFC 5227. The target hardware address is zero because
    /// receivers ignore it in a request.
    /// </summary>
    internal static byte[] BuildFrame(IPAddress address, PhysicalAddress senderMac)
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), address, senderMac, address);
        var ethernet = new EthernetPacket(senderMac, PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp)
        {
            PayloadPacket = arp,
        };
        return ethernet.Bytes;
    }

    private byte[] BuildFrame(IPAddress address) => BuildFrame(address, _interface.MacAddress);

    private bool TryOpen()
    {
        try
        {
            var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == _interface.Name);
            if (device is null)
            {
                Log.Unavailable(_logger, _interface.Name, $"libpcap lists no device named {_interface.Name}", "Check Vrrp:Interface against 'ip link'.", null);
                return false;
            }

            device.Open(new DeviceConfiguration { Mode = DeviceModes.None });
            _device = device;
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            Log.Unavailable(_logger, _interface.Name, "libpcap could not be loaded", "Install the Debian package libpcap0.8 (or your distribution's libpcap runtime).", ex);
            return false;
        }
        catch (PcapException ex)
        {
            Log.Unavailable(_logger, _interface.Name, "libpcap could not open the device", "Run the node as root or grant it CAP_NET_RAW.", ex);
            return false;
        }
    }

    public void Dispose()
    {
        _device?.Close();
        _device = null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.GratuitousArpSent, Level = LogLevel.Debug, Message = "Sent {rounds} rounds of gratuitous ARP for {addressCount} addresses on {interfaceName} from {mac}")]
        public static partial void Sent(ILogger logger, int rounds, int addressCount, string interfaceName, PhysicalAddress mac);

        [LoggerMessage(EventId = VrrpEventIds.GratuitousArpUnavailable, Level = LogLevel.Error, Message = "Gratuitous ARP is unavailable on {interfaceName}: {problem}. {fix} VRRP keeps running, but hosts may keep sending to the old master until their ARP entries expire")]
        public static partial void Unavailable(ILogger logger, string interfaceName, string problem, string fix, Exception? exception);

        [LoggerMessage(EventId = VrrpEventIds.GratuitousArpFailed, Level = LogLevel.Warning, Message = "Gratuitous ARP for {address} on {interfaceName} could not be sent")]
        public static partial void SendFailed(ILogger logger, IPAddress address, string interfaceName, Exception exception);
    }
}
