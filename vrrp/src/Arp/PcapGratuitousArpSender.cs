using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using PacketDotNet;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Arp;

/// <summary>
/// Sends gratuitous ARP for the virtual addresses through libpcap, so that hosts and switches on the link learn that
/// the addresses moved to this node's MAC address (RFC 9568 §6.4.2).
/// </summary>
/// <remarks>
/// <see cref="PcapLinkDevice"/> loads libpcap, opens the device and sends the rounds.
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
    private readonly PcapLinkDevice _device;

    public PcapGratuitousArpSender(InterfaceInfo info, int count, TimeSpan interval, TimeProvider timeProvider, VrrpCounters counters, ILogger logger)
    {
        _interface = info;
        _count = count;
        _interval = interval;
        _timeProvider = timeProvider;
        _counters = counters;
        _logger = logger;
        _device = new PcapLinkDevice(info.Name, (problem, fix, exception) => Log.Unavailable(_logger, _interface.Name, problem, fix, exception));

        // Opening at start surfaces a missing libpcap or capability in the startup log, not at the first failover.
        if (_count > 0)
        {
            _device.TryOpen();
        }
    }

    public async Task AnnounceAsync(IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken)
    {
        if (_count == 0 || addresses.Count == 0)
        {
            return;
        }

        if (!_device.TryOpen())
        {
            _counters.OnGratuitousArpFailures((long)_count * addresses.Count);
            return;
        }

        var frames = addresses.Select(BuildFrame).ToArray();
        await _device.SendRoundsAsync(
            frames,
            _count,
            _interval,
            _timeProvider,
            _ => _counters.OnGratuitousArpSent(),
            (i, ex) =>
            {
                _counters.OnGratuitousArpFailures(1);
                Log.SendFailed(_logger, addresses[i], _interface.Name, ex);
            },
            cancellationToken);

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

    public void Dispose() => _device.Dispose();

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
