using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.StateMachine;

namespace Tandem.Vrrp.Packets;

/// <summary>
/// The receive path between the socket and the state machine: validates each datagram, counts and logs what was
/// discarded, and passes only valid advertisements for our VRID to the <see cref="VirtualRouter"/>.
/// </summary>
internal sealed partial class AdvertisementReceiver
{
    /// <summary>How often a repeating discard reason is logged again; the counters still see every packet.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly VrrpReadContext _context;
    private readonly VirtualRouter _router;
    private readonly VrrpCounters _counters;
    private readonly HashSet<IPAddress> _configuredAddresses;
    private readonly ILogger _logger;
    private readonly LogRateLimiter<VrrpRejectReason> _rejectLimiter;
    private readonly LogRateLimiter<IPAddress> _mismatchLimiter;
    private readonly LogRateLimiter<IPAddress> _checksumModeLimiter;

    public AdvertisementReceiver(
        VrrpReadContext context,
        VirtualRouter router,
        VrrpCounters counters,
        IEnumerable<IPAddress> configuredAddresses,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _context = context;
        _router = router;
        _counters = counters;
        _configuredAddresses = [.. configuredAddresses];
        _logger = logger;
        _rejectLimiter = new LogRateLimiter<VrrpRejectReason>(timeProvider, LogInterval);
        _mismatchLimiter = new LogRateLimiter<IPAddress>(timeProvider, LogInterval);
        _checksumModeLimiter = new LogRateLimiter<IPAddress>(timeProvider, LogInterval);
    }

    /// <summary>
    /// Handles one datagram of the router's address family, IP header included, as read from the transport.
    /// Malformed bytes are counted, not thrown.
    /// </summary>
    public VrrpReadOutcome OnDatagram(ReadOnlySpan<byte> datagram)
    {
        var result = VrrpPacket.ReadDatagram(datagram, _context);
        switch (result.Outcome)
        {
            case VrrpReadOutcome.Rejected:
                _counters.OnRejected(result.Reason);
                if (result.PeerChecksumMode is { } peerMode && result.Ip.Source is { } peer)
                {
                    // The advert is still discarded: accepting both forms would hide the misconfiguration.
                    if (_checksumModeLimiter.ShouldLog(peer, out var suppressedByPeer))
                    {
                        LogChecksumModeRepeated(peer, suppressedByPeer);
                        Log.PeerUsesOtherChecksumMode(_logger, _context.VirtualRouterId, peer, _context.ChecksumMode, peerMode);
                    }
                }
                else if (_rejectLimiter.ShouldLog(result.Reason, out var suppressed))
                {
                    LogRejectsRepeated(result.Reason, suppressed);
                    Log.PacketRejected(_logger, _context.VirtualRouterId, result.Ip.Source, result.Reason, result.Detail);
                }

                break;
            case VrrpReadOutcome.OtherVrid:
                _counters.OnOtherVrid();
                Log.PacketFromOtherVrid(_logger, _context.VirtualRouterId, result.Ip.Source, result.Advertisement!.VirtualRouterId);
                break;
            case VrrpReadOutcome.OwnAdvert:
                _counters.OnOwnAdvert();
                Log.OwnAdvertReceived(_logger, _context.VirtualRouterId, result.Ip.Source);
                break;
            case VrrpReadOutcome.Accepted:
                OnAdvertisement(result.Ip.Source, result.Advertisement!);
                break;
            default:
                throw new NotSupportedException($"Unknown read outcome {result.Outcome}.");
        }

        return result.Outcome;
    }

    private void OnAdvertisement(IPAddress source, VrrpAdvertisement advertisement)
    {
        _counters.OnAdvertisementReceived(advertisement.Priority);

        // RFC 9568 §7.1 lets a receiver compare the address list with its own and recommends logging a mismatch.
        // The advert is still processed, because the election must not split over a configuration difference.
        if (!_configuredAddresses.SetEquals(advertisement.Addresses))
        {
            _counters.OnAddressListMismatch();
            if (_mismatchLimiter.ShouldLog(source, out var suppressed))
            {
                LogMismatchRepeated(source, suppressed);
                Log.AddressListMismatch(_logger, _context.VirtualRouterId, source, string.Join(", ", advertisement.Addresses), string.Join(", ", _configuredAddresses));
            }
        }

        _router.OnAdvertisement(source, advertisement.Priority, advertisement.MaxAdvertisementIntervalCentiseconds);
    }

    /// <summary>
    /// Logs how many discards and mismatches were left out of the log since their last report, so that a burst that
    /// ends within <see cref="LogInterval"/> is still reported. The speaker calls it once per interval and at stop.
    /// </summary>
    public void FlushSuppressedLogs()
    {
        foreach (var (reason, count) in _rejectLimiter.TakeSuppressed())
        {
            LogRejectsRepeated(reason, count);
        }

        foreach (var (peer, count) in _checksumModeLimiter.TakeSuppressed())
        {
            LogChecksumModeRepeated(peer, count);
        }

        foreach (var (source, count) in _mismatchLimiter.TakeSuppressed())
        {
            LogMismatchRepeated(source, count);
        }
    }

    private void LogRejectsRepeated(VrrpRejectReason reason, long count)
    {
        if (count > 0)
        {
            Log.PacketRejectsRepeated(_logger, _context.VirtualRouterId, count, reason);
        }
    }

    private void LogChecksumModeRepeated(IPAddress peer, long count)
    {
        if (count > 0)
        {
            Log.PeerUsesOtherChecksumModeRepeated(_logger, _context.VirtualRouterId, count, peer);
        }
    }

    private void LogMismatchRepeated(IPAddress source, long count)
    {
        if (count > 0)
        {
            Log.AddressListMismatchRepeated(_logger, _context.VirtualRouterId, count, source);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.PeerUsesOtherChecksumMode, Level = LogLevel.Warning, Message = "VRID {vrid} discarded adverts from {source} with a bad checksum: this node expects the {configuredMode} form, but the peer computes the {peerMode} form. Set Vrrp:ChecksumMode to {peerMode} on this node, or change the peer, so that both use the same form")]
        public static partial void PeerUsesOtherChecksumMode(ILogger logger, byte vrid, IPAddress source, VrrpChecksumMode configuredMode, VrrpChecksumMode peerMode);

        [LoggerMessage(EventId = VrrpEventIds.PeerUsesOtherChecksumModeRepeated, Level = LogLevel.Warning, Message = "VRID {vrid} discarded {count} more adverts from {source} with the other checksum form since the last report")]
        public static partial void PeerUsesOtherChecksumModeRepeated(ILogger logger, byte vrid, long count, IPAddress source);

        [LoggerMessage(EventId = VrrpEventIds.PacketRejected, Level = LogLevel.Warning, Message = "VRID {vrid} discarded an invalid VRRP packet from {source}: {reason}, {detail}")]
        public static partial void PacketRejected(ILogger logger, byte vrid, IPAddress? source, VrrpRejectReason reason, string? detail);

        [LoggerMessage(EventId = VrrpEventIds.PacketRejectsRepeated, Level = LogLevel.Warning, Message = "VRID {vrid} discarded {count} more invalid VRRP packets for {reason} since the last report; the speaker's counters have the totals")]
        public static partial void PacketRejectsRepeated(ILogger logger, byte vrid, long count, VrrpRejectReason reason);

        [LoggerMessage(EventId = VrrpEventIds.PacketFromOtherVrid, Level = LogLevel.Debug, Message = "VRID {vrid} ignored an advert from {source} for VRID {otherVrid}")]
        public static partial void PacketFromOtherVrid(ILogger logger, byte vrid, IPAddress source, byte otherVrid);

        [LoggerMessage(EventId = VrrpEventIds.OwnAdvertReceived, Level = LogLevel.Debug, Message = "VRID {vrid} ignored an advert from our own address {source}")]
        public static partial void OwnAdvertReceived(ILogger logger, byte vrid, IPAddress source);

        [LoggerMessage(EventId = VrrpEventIds.AddressListMismatch, Level = LogLevel.Warning, Message = "VRID {vrid} advert from {source} lists the addresses [{advertised}] but this node is configured with [{configured}]; make Vrrp:VirtualAddresses the same on every node")]
        public static partial void AddressListMismatch(ILogger logger, byte vrid, IPAddress source, string advertised, string configured);

        [LoggerMessage(EventId = VrrpEventIds.AddressListMismatchRepeated, Level = LogLevel.Warning, Message = "VRID {vrid} received {count} more adverts from {source} with a different address list since the last report")]
        public static partial void AddressListMismatchRepeated(ILogger logger, byte vrid, long count, IPAddress source);
    }
}
