using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.StateMachine;

/// <summary>
/// The VRRP state machine of one virtual router (RFC 9568 §6.4), driven by <see cref="TimeProvider"/> timers and by
/// advertisements that already passed validation.
/// </summary>
/// <remarks>
/// RFC 9568 calls the Master state Active and renames Master_Adver_Interval, Master_Down_Interval and
/// Master_Down_Timer to Active_*. This class keeps the RFC 5798 names, which keepalived, FRR and
/// <see cref="VrrpState"/> use. Timer callbacks and received advertisements are serialised by one lock, and each
/// timer carries a generation number so that a callback that was already queued when its timer was reset does nothing.
/// </remarks>
internal sealed partial class VirtualRouter : IDisposable
{
    private readonly VirtualRouterSettings _settings;
    private readonly IVirtualRouterActions _actions;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly VrrpCounters _counters;
    private readonly LogRateLimiter<byte> _priorityZeroLogLimiter;
    private readonly Lock _lock = new();

    private VrrpState _state = VrrpState.Initialize;
    private int _masterAdverIntervalCentiseconds;

    private ITimer? _adverTimer;
    private long _adverTimerGeneration;
    private ITimer? _masterDownTimer;
    private long _masterDownTimerGeneration;
    private string _masterDownCause = "";
    private VrrpMasterHeard? _masterHeard;
    private long? _lastReplyTimestamp;
    private long _startTimestamp;
    private bool _disposed;

    public VirtualRouter(VirtualRouterSettings settings, IVirtualRouterActions actions, TimeProvider timeProvider, ILogger logger, VrrpCounters? counters = null)
    {
        _settings = settings;
        _actions = actions;
        _timeProvider = timeProvider;
        _logger = logger;
        _counters = counters ?? new VrrpCounters();
        _priorityZeroLogLimiter = new LogRateLimiter<byte>(timeProvider, AdvertisementReceiver.LogInterval);
        _masterAdverIntervalCentiseconds = settings.AdvertisementIntervalCentiseconds;
    }

    /// <summary>Raised after every state change. Handlers run while the router holds its lock, so they must not block.</summary>
    public event Action<VrrpStateChange>? StateChanged;

    public VrrpState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Master_Adver_Interval in centiseconds: our own until a VRRPv3 master advertises another; always our own for VRRPv2.</summary>
    public int MasterAdverIntervalCentiseconds
    {
        get
        {
            lock (_lock)
            {
                return _masterAdverIntervalCentiseconds;
            }
        }
    }

    /// <summary>The last advertisement accepted from the master, or null before the first one and while this router is master.</summary>
    public VrrpMasterHeard? MasterHeard
    {
        get
        {
            lock (_lock)
            {
                return _masterHeard;
            }
        }
    }

    /// <summary>Skew_Time in centiseconds (RFC 9568 §6.1), computed with integer division as FRR vrrpd does.</summary>
    public static int ComputeSkewTime(int priority, int masterAdverIntervalCentiseconds) =>
        ComputeSkewTime(VrrpVersion.V3, priority, masterAdverIntervalCentiseconds);

    /// <summary>
    /// Skew_Time in centiseconds, with integer division. VRRPv3 scales it by Master_Adver_Interval
    /// (RFC 9568 §6.1). VRRPv2 defines it as (256 - Priority) / 256 seconds whatever the interval (RFC 3768 §6.1).
    /// </summary>
    public static int ComputeSkewTime(VrrpVersion version, int priority, int masterAdverIntervalCentiseconds) =>
        version == VrrpVersion.V2
            ? (256 - priority) * 100 / 256
            : (256 - priority) * masterAdverIntervalCentiseconds / 256;

    /// <summary>
    /// Master_Down_Interval in centiseconds (RFC 9568 §6.1): three missed adverts plus Skew_Time, so that among
    /// several backups the one with the highest priority times out first.
    /// </summary>
    public static int ComputeMasterDownInterval(int priority, int masterAdverIntervalCentiseconds) =>
        ComputeMasterDownInterval(VrrpVersion.V3, priority, masterAdverIntervalCentiseconds);

    /// <summary>
    /// Master_Down_Interval in centiseconds: 3 × the interval + Skew_Time, for VRRPv3 (RFC 9568 §6.1) and VRRPv2
    /// (RFC 3768 §6.1, where the interval is our own Advertisement_Interval).
    /// </summary>
    public static int ComputeMasterDownInterval(VrrpVersion version, int priority, int masterAdverIntervalCentiseconds) =>
        (3 * masterAdverIntervalCentiseconds) + ComputeSkewTime(version, priority, masterAdverIntervalCentiseconds);

    // Skew_Time uses the priority this router advertises, so that a backup lowered by tracking also waits longer.
    private int ComputeSkewTime() => ComputeSkewTime(_settings.Version, CurrentPriority, _masterAdverIntervalCentiseconds);

    private int ComputeMasterDownInterval() => ComputeMasterDownInterval(_settings.Version, CurrentPriority, _masterAdverIntervalCentiseconds);

    /// <summary>Handles the Startup event of the Initialize state (RFC 9568 §6.4.1).</summary>
    public void Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_state != VrrpState.Initialize)
            {
                Log.ImpossibleTransition(_logger, _settings.VirtualRouterId, _state, VrrpState.Initialize, "Startup received outside the Initialize state");
                return;
            }

            _startTimestamp = _timeProvider.GetTimestamp();

            // An owner in maintenance or with a failed tracked condition of weight 0 starts as a backup, so that it
            // never takes the addresses until it resumes or the condition recovers.
            if (_settings.Priority == VirtualRouterSettings.OwnerPriority && !_maintenance && !_fault)
            {
                ChangeState(VrrpState.Master, "priority 255, this node owns the virtual addresses");
                return;
            }

            _masterAdverIntervalCentiseconds = _settings.AdvertisementIntervalCentiseconds;
            ChangeState(VrrpState.Backup, "startup");
        }
    }

    /// <summary>
    /// Handles the Shutdown event (RFC 9568 §6.4.2, §6.4.3). A master sends an advert with priority 0 and releases
    /// its addresses. Both states cancel their timers and return to Initialize.
    /// </summary>
    public void Shutdown()
    {
        lock (_lock)
        {
            if (_state == VrrpState.Initialize)
            {
                return;
            }

            ChangeState(VrrpState.Initialize, "shutdown");
        }
    }

    /// <summary>Handles a valid ADVERTISEMENT for our VRID from another router (RFC 9568 §6.4.2, §6.4.3).</summary>
    public void OnAdvertisement(IPAddress source, byte priority, int maxAdverIntervalCentiseconds)
    {
        lock (_lock)
        {
            switch (_state)
            {
                case VrrpState.Initialize:
                    // Not started or already stopped: RFC 9568 §6.4.1 defines no advert handling here.
                    return;
                case VrrpState.Backup:
                    OnAdvertisementAsBackup(source, priority, maxAdverIntervalCentiseconds);
                    return;
                case VrrpState.Master:
                    OnAdvertisementAsMaster(source, priority, maxAdverIntervalCentiseconds);
                    return;
                default:
                    throw new NotSupportedException($"Unknown VRRP state {_state}.");
            }
        }
    }

    private void OnAdvertisementAsBackup(IPAddress source, byte priority, int interval)
    {
        if (priority == 0)
        {
            // Priority 0 means that the master is leaving, so take over after Skew_Time instead of Master_Down_Interval.
            // RFC 9568 §6.4.2 does not require the sender to be the master heard last. Neither keepalived nor FRR
            // vrrpd checks it, so neither does this router. The log is rate-limited because anyone on the link can send such adverts.
            var skew = ComputeSkewTime();
            if (_priorityZeroLogLimiter.ShouldLog(_settings.VirtualRouterId, out var suppressed))
            {
                if (suppressed > 0)
                {
                    Log.PriorityZeroRepeated(_logger, _settings.VirtualRouterId, suppressed);
                }

                Log.PriorityZeroReceived(_logger, _settings.VirtualRouterId, source, skew);
            }

            StartMasterDownTimer(skew, $"{source} sent priority 0 and Skew_Time ({skew} cs) passed");
            return;
        }

        if (!PreemptsNow || priority >= CurrentPriority || DelaysPreemption())
        {
            _masterHeard = new VrrpMasterHeard(source, priority, _timeProvider.GetUtcNow());
            // VRRPv3 backups adopt the master's interval (RFC 9568 §6.4.2). VRRPv2 has no such rule, and the reader
            // already discarded every VRRPv2 advert whose interval differs from ours (RFC 3768 §7.1).
            if (_settings.Version == VrrpVersion.V3 && interval != _masterAdverIntervalCentiseconds)
            {
                Log.MasterAdverIntervalChanged(_logger, _settings.VirtualRouterId, source, _masterAdverIntervalCentiseconds, interval);
                _masterAdverIntervalCentiseconds = interval;
            }

            var masterDown = ComputeMasterDownInterval();
            StartMasterDownTimer(masterDown, $"no advert for Master_Down_Interval ({masterDown} cs) after the last one from {source}");
            return;
        }

        // Preempt_Mode is on and the master has a lower priority: let the Master_Down_Timer run out so this router takes over.
        Log.PreemptDiscarded(_logger, _settings.VirtualRouterId, source, priority, CurrentPriority);
        _masterDownCause = $"preempted lower-priority master {source} (priority {priority}, ours {CurrentPriority}) after Master_Down_Interval";
    }

    private void OnAdvertisementAsMaster(IPAddress source, byte priority, int interval)
    {
        if (_handOver is not null)
        {
            OnAdvertisementWhileHandingOver(source, priority, interval);
            return;
        }

        if (priority == 0)
        {
            // Another master is leaving. Advertising at once keeps the backups from taking over after Skew_Time.
            // A suppressed reply leaves the Adver_Timer running, so the backups still hear us within the interval.
            if (TryStartReply())
            {
                SendAdvertisement(CurrentPriority);
                StartAdverTimer();
            }

            return;
        }

        var ours = CurrentPriority;
        var higherPriority = priority > ours;
        if (higherPriority || (priority == ours && CompareAddresses(source, _settings.PrimaryAddress) > 0))
        {
            if (_settings.Version == VrrpVersion.V3)
            {
                _masterAdverIntervalCentiseconds = interval;
            }

            _masterHeard = new VrrpMasterHeard(source, priority, _timeProvider.GetUtcNow());
            var reason = higherPriority
                ? $"advert from {source} with higher priority {priority} (ours {ours})"
                : $"advert from {source} with equal priority {priority} and a higher primary address than ours ({_settings.PrimaryAddress})";
            ChangeState(VrrpState.Backup, reason);
            return;
        }

        // RFC 9568 §6.4.3: discard it, but send an advert at once to assert the Master state to the sender and to
        // update learning bridges.
        if (TryStartReply())
        {
            Log.LowerPriorityAnswered(_logger, _settings.VirtualRouterId, source, priority, ours);
            SendAdvertisement(ours);

            // The sender may have been master for a while, for example while this process was stopped, and hosts
            // then still send to its MAC address. Gratuitous ARP corrects them at once, as keepalived does when
            // vrrp_garp_lower_prio_repeat is set. The reply limit above also limits these frames.
            _actions.AnnounceAddresses();
        }
    }

    /// <summary>
    /// Allows one reply to priority-0 or lower-priority adverts per Advertisement_Interval and counts the others as
    /// suppressed. The RFC sets no limit, but without one every forged advert would make this router send a multicast
    /// advert, so a flood of them would turn it into a reflector.
    /// </summary>
    private bool TryStartReply()
    {
        // A master advertises at its own Advertisement_Interval, which is the Master_Adver_Interval its backups use.
        var now = _timeProvider.GetTimestamp();
        if (_lastReplyTimestamp is { } last && _timeProvider.GetElapsedTime(last, now) < Centiseconds(_settings.AdvertisementIntervalCentiseconds))
        {
            _counters.OnReplySuppressed();
            return false;
        }

        _lastReplyTimestamp = now;
        return true;
    }

    /// <summary>
    /// Moves to <paramref name="to"/>: runs the exit actions of the current state and the entry actions of the new
    /// one, then raises <see cref="StateChanged"/> and logs the transition. A transition that the state machine
    /// never makes is logged as an error and ignored.
    /// </summary>
    internal void ChangeState(VrrpState to, string reason)
    {
        lock (_lock)
        {
            var from = _state;
            if (!IsValidTransition(from, to))
            {
                Log.ImpossibleTransition(_logger, _settings.VirtualRouterId, from, to, reason);
                return;
            }

            ExitState(from, to);
            _state = to;
            EnterState(to);

            Log.StateChanged(_logger, _settings.VirtualRouterId, from, to, reason);
            RaiseStateChanged(new VrrpStateChange(_settings.VirtualRouterId, from, to, reason, _timeProvider.GetUtcNow()));
        }
    }

    private static bool IsValidTransition(VrrpState from, VrrpState to) => (from, to) switch
    {
        (VrrpState.Initialize, VrrpState.Backup) => true,
        (VrrpState.Initialize, VrrpState.Master) => true,
        (VrrpState.Backup, VrrpState.Master) => true,
        (VrrpState.Backup, VrrpState.Initialize) => true,
        (VrrpState.Master, VrrpState.Backup) => true,
        (VrrpState.Master, VrrpState.Initialize) => true,
        _ => false,
    };

    private void ExitState(VrrpState from, VrrpState to)
    {
        switch (from)
        {
            case VrrpState.Master:
                CancelAdverTimer();
                CancelGratuitousArpTimers();

                // A master that leaves for a tracked failure of weight 0 also sends priority 0, so that the backups
                // take over after Skew_Time (RFC 9568 §6.4.2) instead of waiting for Master_Down_Interval.
                if (to == VrrpState.Initialize || (_fault && _handOver is null))
                {
                    SendAdvertisement(0);
                }

                if (_handOver is not null && to == VrrpState.Backup)
                {
                    _actions.ReleaseAddressesAfterHandOver();
                }
                else
                {
                    _actions.ReleaseAddresses();
                }

                CompleteHandOver(to);
                break;
            case VrrpState.Backup:
                CancelMasterDownTimer();
                break;
        }
    }

    private void EnterState(VrrpState to)
    {
        switch (to)
        {
            case VrrpState.Master:
                // A master hears no master but itself, and an entry kept from Backup would name a router that lost.
                _masterHeard = null;
                _preemptSuspended = false;

                // RFC 9568 §6.4.2: send an advert, announce the addresses with gratuitous ARP, start the Adver_Timer.
                SendAdvertisement(CurrentPriority);
                _actions.ClaimAddresses();
                StartAdverTimer();
                StartGratuitousArpTimers();
                break;
            case VrrpState.Backup:
                var masterDown = ComputeMasterDownInterval();
                StartMasterDownTimer(masterDown, $"no advert for Master_Down_Interval ({masterDown} cs)");
                break;
            case VrrpState.Initialize:
                CancelAdverTimer();
                CancelMasterDownTimer();
                break;
        }
    }

    private void RaiseStateChanged(VrrpStateChange change)
    {
        var handlers = StateChanged;
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Action<VrrpStateChange>>())
        {
            try
            {
                handler(change);
            }
            catch (Exception ex)
            {
                // A subscriber's bug must not stop the state machine halfway through a transition.
                Log.StateChangedHandlerFailed(_logger, _settings.VirtualRouterId, change.From, change.To, ex);
            }
        }
    }

    private void SendAdvertisement(byte priority) => _actions.SendAdvertisement(priority);

    /// <summary>Logs how many priority-0 adverts were left out of the log since the last report.</summary>
    public void FlushSuppressedLogs()
    {
        foreach (var (_, count) in _priorityZeroLogLimiter.TakeSuppressed())
        {
            Log.PriorityZeroRepeated(_logger, _settings.VirtualRouterId, count);
        }
    }

    private void StartAdverTimer()
    {
        CancelAdverTimer();
        var generation = ++_adverTimerGeneration;
        _adverTimer = _timeProvider.CreateTimer(
            _ => OnAdverTimer(generation),
            null,
            Centiseconds(_settings.AdvertisementIntervalCentiseconds),
            Timeout.InfiniteTimeSpan);
    }

    private void CancelAdverTimer()
    {
        _adverTimerGeneration++;
        _adverTimer?.Dispose();
        _adverTimer = null;
    }

    private void OnAdverTimer(long generation)
    {
        lock (_lock)
        {
            if (generation != _adverTimerGeneration || _state != VrrpState.Master)
            {
                return;
            }

            SendAdvertisement(CurrentPriority);
            StartAdverTimer();
        }
    }

    private void StartMasterDownTimer(int centiseconds, string cause)
    {
        CancelMasterDownTimer();
        var generation = ++_masterDownTimerGeneration;
        _masterDownCause = cause;
        _masterDownTimer = _timeProvider.CreateTimer(
            _ => OnMasterDownTimer(generation),
            null,
            Centiseconds(centiseconds),
            Timeout.InfiniteTimeSpan);
    }

    private void CancelMasterDownTimer()
    {
        _masterDownTimerGeneration++;
        _masterDownTimer?.Dispose();
        _masterDownTimer = null;
    }

    private void OnMasterDownTimer(long generation)
    {
        lock (_lock)
        {
            if (generation != _masterDownTimerGeneration || _state != VrrpState.Backup)
            {
                return;
            }

            if (_maintenance)
            {
                OnMasterDownInMaintenance();
                return;
            }

            if (_fault)
            {
                OnMasterDownInFault();
                return;
            }

            ChangeState(VrrpState.Master, _masterDownCause);
        }
    }

    /// <summary>Compares two addresses as unsigned integers in network byte order (RFC 9568 §6.4.3).</summary>
    internal static int CompareAddresses(IPAddress left, IPAddress right)
    {
        Span<byte> leftBytes = stackalloc byte[16];
        Span<byte> rightBytes = stackalloc byte[16];
        left.TryWriteBytes(leftBytes, out var leftLength);
        right.TryWriteBytes(rightBytes, out var rightLength);
        if (leftLength != rightLength)
        {
            return leftLength.CompareTo(rightLength);
        }

        return leftBytes[..leftLength].SequenceCompareTo(rightBytes[..rightLength]);
    }

    private static TimeSpan Centiseconds(int value) => TimeSpan.FromMilliseconds(value * 10L);

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            CancelAdverTimer();
            CancelMasterDownTimer();
            CancelHandOverTimer();
            CancelGratuitousArpTimers();
            _handOver?.Completion.TrySetResult(VrrpHandOverResult.Stopped);
            _handOver = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.StateChanged, Level = LogLevel.Information, Message = "VRID {vrid} {from} -> {to}: {reason}")]
        public static partial void StateChanged(ILogger logger, byte vrid, VrrpState from, VrrpState to, string reason);

        [LoggerMessage(EventId = VrrpEventIds.ImpossibleTransition, Level = LogLevel.Error, Message = "VRID {vrid} transition {from} -> {to} is not allowed and was ignored; this is a bug. Cause: {reason}")]
        public static partial void ImpossibleTransition(ILogger logger, byte vrid, VrrpState from, VrrpState to, string reason);

        [LoggerMessage(EventId = VrrpEventIds.StateChangedHandlerFailed, Level = LogLevel.Error, Message = "VRID {vrid} a StateChanged handler failed on {from} -> {to}; the transition itself completed")]
        public static partial void StateChangedHandlerFailed(ILogger logger, byte vrid, VrrpState from, VrrpState to, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.PriorityZeroReceived, Level = LogLevel.Information, Message = "VRID {vrid} received priority 0 from {sender}; taking over in Skew_Time {skewCentiseconds} cs unless a master advertises first")]
        public static partial void PriorityZeroReceived(ILogger logger, byte vrid, IPAddress sender, int skewCentiseconds);

        [LoggerMessage(EventId = VrrpEventIds.PriorityZeroRepeated, Level = LogLevel.Information, Message = "VRID {vrid} received {count} more adverts with priority 0 since the last report; each one restarted the Master_Down_Timer at Skew_Time")]
        public static partial void PriorityZeroRepeated(ILogger logger, byte vrid, long count);

        [LoggerMessage(EventId = VrrpEventIds.PreemptDiscarded, Level = LogLevel.Debug, Message = "VRID {vrid} discarded advert from {source} with lower priority {priority} (ours {localPriority}); preempting it")]
        public static partial void PreemptDiscarded(ILogger logger, byte vrid, IPAddress source, byte priority, byte localPriority);

        [LoggerMessage(EventId = VrrpEventIds.LowerPriorityAnswered, Level = LogLevel.Debug, Message = "VRID {vrid} master answered advert from {source} with lower priority {priority} (ours {localPriority}) with an advert of its own")]
        public static partial void LowerPriorityAnswered(ILogger logger, byte vrid, IPAddress source, byte priority, byte localPriority);

        [LoggerMessage(EventId = VrrpEventIds.MasterAdverIntervalChanged, Level = LogLevel.Information, Message = "VRID {vrid} master {source} advertises every {newCentiseconds} cs; Master_Adver_Interval changes from {oldCentiseconds} cs")]
        public static partial void MasterAdverIntervalChanged(ILogger logger, byte vrid, IPAddress source, int oldCentiseconds, int newCentiseconds);
    }
}
