using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using SharpPcap;
using SharpPcap.LibPcap;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Ndp;

/// <summary>
/// Sends unsolicited neighbour advertisements for IPv6 virtual addresses through libpcap, the IPv6 counterpart of
/// gratuitous ARP (RFC 9568 §6.4.2 and §8.2, RFC 4861 §7.2.6). It sends as many rounds, with the same pause between
/// them, as the gratuitous ARP settings ask for.
/// </summary>
/// <remarks>
/// libpcap is loaded and opened the same way as for gratuitous ARP (see <c>PcapGratuitousArpSender</c>).
/// NOTE: the frames carry the interface's own MAC address, not the virtual router MAC 00-00-5E-00-02-{VRID} of
/// RFC 9568 §7.3, as for gratuitous ARP.
/// </remarks>
internal sealed partial class PcapNeighborAdvertisementSender : IGratuitousArpSender
{
    private readonly InterfaceInfo _interface;
    private readonly int _count;
    private readonly TimeSpan _interval;
    private readonly bool _routerFlag;
    private readonly TimeProvider _timeProvider;
    private readonly VrrpCounters _counters;
    private readonly ILogger _logger;
    private LibPcapLiveDevice? _device;

    public PcapNeighborAdvertisementSender(InterfaceInfo info, int count, TimeSpan interval, bool routerFlag, TimeProvider timeProvider, VrrpCounters counters, ILogger logger)
    {
        _interface = info;
        _count = count;
        _interval = interval;
        _routerFlag = routerFlag;
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
            _counters.OnNeighborAdvertisementFailures((long)_count * addresses.Count);
            return;
        }

        var frames = addresses.Select(a => NeighborAdvertisementFrame.Build(a, _interface.MacAddress, _routerFlag)).ToArray();
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
                    _counters.OnNeighborAdvertisementSent();
                }
                catch (PcapException ex)
                {
                    _counters.OnNeighborAdvertisementFailures(1);
                    Log.SendFailed(_logger, addresses[i], _interface.Name, ex);
                }
            }
        }

        Log.Sent(_logger, _count, addresses.Count, _interface.Name, _interface.MacAddress);
    }

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
        [LoggerMessage(EventId = VrrpEventIds.NeighborAdvertisementSent, Level = LogLevel.Debug, Message = "Sent {rounds} rounds of unsolicited neighbour advertisements for {addressCount} addresses on {interfaceName} from {mac}")]
        public static partial void Sent(ILogger logger, int rounds, int addressCount, string interfaceName, PhysicalAddress mac);

        [LoggerMessage(EventId = VrrpEventIds.NeighborAdvertisementUnavailable, Level = LogLevel.Error, Message = "Unsolicited neighbour advertisements are unavailable on {interfaceName}: {problem}. {fix} VRRP keeps running, but hosts may keep sending to the old master until their neighbour cache entries expire")]
        public static partial void Unavailable(ILogger logger, string interfaceName, string problem, string fix, Exception? exception);

        [LoggerMessage(EventId = VrrpEventIds.NeighborAdvertisementFailed, Level = LogLevel.Warning, Message = "The unsolicited neighbour advertisement for {address} on {interfaceName} could not be sent")]
        public static partial void SendFailed(ILogger logger, IPAddress address, string interfaceName, Exception exception);
    }
}
