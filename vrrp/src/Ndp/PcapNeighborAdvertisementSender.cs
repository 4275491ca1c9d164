using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Ndp;

/// <summary>
/// Sends unsolicited neighbour advertisements for IPv6 virtual addresses through libpcap, the IPv6 counterpart of
/// gratuitous ARP (RFC 9568 §6.4.2 and §8.2, RFC 4861 §7.2.6). It sends as many rounds, with the same pause between
/// them, as the gratuitous ARP settings ask for.
/// </summary>
/// <remarks>
/// <see cref="PcapLinkDevice"/> loads libpcap, opens the device and sends the rounds, as for gratuitous ARP.
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
    private readonly PcapLinkDevice _device;

    public PcapNeighborAdvertisementSender(InterfaceInfo info, int count, TimeSpan interval, bool routerFlag, TimeProvider timeProvider, VrrpCounters counters, ILogger logger)
    {
        _interface = info;
        _count = count;
        _interval = interval;
        _routerFlag = routerFlag;
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
            _counters.OnNeighborAdvertisementFailures((long)_count * addresses.Count);
            return;
        }

        var frames = addresses.Select(a => NeighborAdvertisementFrame.Build(a, _interface.MacAddress, _routerFlag)).ToArray();
        await _device.SendRoundsAsync(
            frames,
            _count,
            _interval,
            _timeProvider,
            _ => _counters.OnNeighborAdvertisementSent(),
            (i, ex) =>
            {
                _counters.OnNeighborAdvertisementFailures(1);
                Log.SendFailed(_logger, addresses[i], _interface.Name, ex);
            },
            cancellationToken);

        Log.Sent(_logger, _count, addresses.Count, _interface.Name, _interface.MacAddress);
    }

    public void Dispose() => _device.Dispose();

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
