using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.StateMachine;

/// <summary>Operator control of the state machine: a planned hand-over and maintenance mode.</summary>
/// <remarks>
/// <para>
/// RFC 9568 has no planned hand-over, so it is built from the Shutdown event's first half (§6.4.3): the master sends
/// one advert with priority 0, and every backup then sets its Master_Down_Timer to Skew_Time (§6.4.2). Unlike
/// Shutdown, the master keeps its addresses and keeps serving, and sends no further adverts, which would reset the
/// backups' timers to Master_Down_Interval. The first advert with a nonzero priority from another router is the new
/// master's: only then does this router move to Backup and release the addresses, so the virtual addresses are
/// never without a holder. If none arrives within Master_Down_Interval, this router advertises again and stays master.
/// </para>
/// <para>
/// After a hand-over this router does not preempt the new master (Preempt_Mode, §6.1) until it becomes master again,
/// or the router with the higher priority would take the Master state straight back. Maintenance keeps a backup
/// from becoming master when its Master_Down_Timer fires, whatever the cause. Backups send nothing (§6.4.2), so a
/// backup in maintenance is invisible to the other routers, which elect among themselves as if it did not run.
/// </para>
/// </remarks>
internal sealed partial class VirtualRouter
{
    private HandOver? _handOver;
    private ITimer? _handOverTimer;
    private long _handOverTimerGeneration;
    private bool _maintenance;
    private bool _masterDownWhileInMaintenance;

    /// <summary>True after a hand-over, until this router becomes master again or leaves maintenance.</summary>
    private bool _preemptSuspended;

    /// <summary>Raised when maintenance mode is entered or left, under the router's lock like <see cref="StateChanged"/>.</summary>
    public event Action<VrrpMaintenanceChange>? MaintenanceChanged;

    /// <summary>True while this router never becomes master.</summary>
    public bool InMaintenance
    {
        get
        {
            lock (_lock)
            {
                return _maintenance;
            }
        }
    }

    /// <summary>True between a hand-over's priority-0 advert and its outcome.</summary>
    public bool HandingOver
    {
        get
        {
            lock (_lock)
            {
                return _handOver is not null;
            }
        }
    }

    private bool PreemptsNow => _settings.PreemptMode && !_preemptSuspended;

    /// <summary>
    /// Hands the Master state to a backup: sends one advert with priority 0, keeps the addresses until the new master
    /// advertises, then moves to Backup. A second call during a hand-over joins the first.
    /// </summary>
    /// <param name="reason">Why, in words, for the state change's reason, for example "switchover requested".</param>
    public Task<VrrpHandOverResult> HandOverAsync(string reason) => StartHandOver(reason, enterMaintenance: false);

    /// <summary>
    /// Enters maintenance mode. A master hands over first and enters maintenance only when a backup took over; a
    /// backup or a stopped router enters it at once.
    /// </summary>
    public Task<VrrpHandOverResult> EnterMaintenanceAsync(string reason)
    {
        lock (_lock)
        {
            if (_state == VrrpState.Master)
            {
                return StartHandOver(reason, enterMaintenance: true);
            }

            SetMaintenance(true, reason);
            return Task.FromResult(VrrpHandOverResult.Completed);
        }
    }

    /// <summary>
    /// Leaves maintenance mode and lets preemption work again. Returns false when the router was not in maintenance.
    /// </summary>
    public bool Resume(string reason)
    {
        lock (_lock)
        {
            // A resumed router is back in the election with its configured priority and Preempt_Mode, as after a restart.
            _preemptSuspended = false;
            if (!_maintenance)
            {
                return false;
            }

            SetMaintenance(false, reason);
            if (_state == VrrpState.Backup && _masterDownWhileInMaintenance)
            {
                // No master was heard for Master_Down_Interval during maintenance. Waiting one more interval gives a
                // master that appeared meanwhile the time to be heard before this router takes over.
                var masterDown = ComputeMasterDownInterval();
                StartMasterDownTimer(masterDown, $"no advert for Master_Down_Interval ({masterDown} cs) after maintenance ended");
            }

            _masterDownWhileInMaintenance = false;
            return true;
        }
    }

    private Task<VrrpHandOverResult> StartHandOver(string reason, bool enterMaintenance)
    {
        lock (_lock)
        {
            if (_handOver is { } running)
            {
                running.EnterMaintenance |= enterMaintenance;
                return running.Completion.Task;
            }

            if (_state != VrrpState.Master)
            {
                return Task.FromResult(_state == VrrpState.Initialize ? VrrpHandOverResult.Stopped : VrrpHandOverResult.NotMaster);
            }

            var handOver = new HandOver(reason, enterMaintenance);
            _handOver = handOver;

            // Our own adverts would reset the backups' Master_Down_Timer to Master_Down_Interval (RFC 9568 §6.4.2), so
            // the Adver_Timer stays off until the hand-over ends.
            CancelAdverTimer();
            SendAdvertisement(0);

            // A backup takes over after its Skew_Time, at most Master_Adver_Interval, and advertises at once, so
            // Master_Down_Interval leaves room for two lost adverts.
            var timeout = ComputeMasterDownInterval();
            handOver.TimeoutCentiseconds = timeout;
            var generation = ++_handOverTimerGeneration;
            _handOverTimer = _timeProvider.CreateTimer(_ => OnHandOverTimeout(generation), null, Centiseconds(timeout), Timeout.InfiniteTimeSpan);
            Log.HandOverStarted(_logger, _settings.VirtualRouterId, reason, timeout);
            return handOver.Completion.Task;
        }
    }

    /// <summary>Handles an advert received by a master during a hand-over.</summary>
    private void OnAdvertisementWhileHandingOver(IPAddress source, byte priority, int interval)
    {
        if (priority == 0)
        {
            // Another router is leaving too. Replying to it, as a master normally does, would stop our own hand-over.
            return;
        }

        // Whatever its priority, this is the backup that took over after our priority-0 advert.
        if (_settings.Version == VrrpVersion.V3)
        {
            _masterAdverIntervalCentiseconds = interval;
        }

        _masterHeard = new VrrpMasterHeard(source, priority, _timeProvider.GetUtcNow());
        ChangeState(VrrpState.Backup, $"{_handOver!.Reason}: {source} took over as master with priority {priority}");
    }

    /// <summary>Ends a hand-over when the router leaves Master, called from the exit actions.</summary>
    private void CompleteHandOver(VrrpState to)
    {
        if (_handOver is not { } handOver)
        {
            return;
        }

        CancelHandOverTimer();
        _handOver = null;
        if (to != VrrpState.Backup)
        {
            handOver.Completion.TrySetResult(VrrpHandOverResult.Stopped);
            return;
        }

        _preemptSuspended = true;
        if (handOver.EnterMaintenance)
        {
            SetMaintenance(true, handOver.Reason);
        }

        handOver.Completion.TrySetResult(VrrpHandOverResult.Completed);
    }

    private void OnHandOverTimeout(long generation)
    {
        lock (_lock)
        {
            if (generation != _handOverTimerGeneration || _handOver is not { } handOver || _state != VrrpState.Master)
            {
                return;
            }

            _handOver = null;
            _handOverTimer?.Dispose();
            _handOverTimer = null;

            // Still master and still holding the addresses: advertise at once so the backups hear a master again
            // (RFC 9568 §6.4.3), and announce the addresses in case a host learnt another MAC address meanwhile.
            Log.HandOverTimedOut(_logger, _settings.VirtualRouterId, handOver.Reason, handOver.TimeoutCentiseconds);
            SendAdvertisement(CurrentPriority);
            StartAdverTimer();
            _actions.AnnounceAddresses();
            handOver.Completion.TrySetResult(VrrpHandOverResult.NoBackupTookOver);
        }
    }

    private void CancelHandOverTimer()
    {
        _handOverTimerGeneration++;
        _handOverTimer?.Dispose();
        _handOverTimer = null;
    }

    /// <summary>Handles the Master_Down_Timer of a backup in maintenance: it stays Backup and remembers the expiry.</summary>
    private void OnMasterDownInMaintenance()
    {
        _masterDownWhileInMaintenance = true;
        Log.TakeoverSkippedInMaintenance(_logger, _settings.VirtualRouterId, _masterDownCause);
    }

    private void SetMaintenance(bool maintenance, string reason)
    {
        if (_maintenance == maintenance)
        {
            return;
        }

        _maintenance = maintenance;
        Log.MaintenanceChanged(_logger, _settings.VirtualRouterId, maintenance, reason);
        var change = new VrrpMaintenanceChange(_settings.VirtualRouterId, maintenance, reason, _timeProvider.GetUtcNow());
        var handlers = MaintenanceChanged;
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Action<VrrpMaintenanceChange>>())
        {
            try
            {
                handler(change);
            }
            catch (Exception ex)
            {
                // Like a StateChanged handler, a subscriber's bug must not undo the change.
                Log.MaintenanceChangedHandlerFailed(_logger, _settings.VirtualRouterId, maintenance, ex);
            }
        }
    }

    /// <summary>One hand-over in progress.</summary>
    private sealed class HandOver(string reason, bool enterMaintenance)
    {
        public string Reason { get; } = reason;

        /// <summary>Whether the router enters maintenance once a backup took over.</summary>
        public bool EnterMaintenance { get; set; } = enterMaintenance;

        public int TimeoutCentiseconds { get; set; }

        public TaskCompletionSource<VrrpHandOverResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.HandOverStarted, Level = LogLevel.Information, Message = "VRID {vrid} handing over ({reason}): sent priority 0, keeping the addresses until a new master advertises, at most {timeoutCentiseconds} cs")]
        public static partial void HandOverStarted(ILogger logger, byte vrid, string reason, int timeoutCentiseconds);

        [LoggerMessage(EventId = VrrpEventIds.HandOverTimedOut, Level = LogLevel.Warning, Message = "VRID {vrid} hand-over ({reason}) failed: no new master advertised within {timeoutCentiseconds} cs, so this router advertises again and stays master. Check that a backup runs and is not in maintenance")]
        public static partial void HandOverTimedOut(ILogger logger, byte vrid, string reason, int timeoutCentiseconds);

        [LoggerMessage(EventId = VrrpEventIds.MaintenanceChanged, Level = LogLevel.Information, Message = "VRID {vrid} maintenance {maintenance}: {reason}")]
        public static partial void MaintenanceChanged(ILogger logger, byte vrid, bool maintenance, string reason);

        [LoggerMessage(EventId = VrrpEventIds.TakeoverSkippedInMaintenance, Level = LogLevel.Warning, Message = "VRID {vrid} stays Backup because it is in maintenance, although it would take over now: {cause}")]
        public static partial void TakeoverSkippedInMaintenance(ILogger logger, byte vrid, string cause);

        [LoggerMessage(EventId = VrrpEventIds.MaintenanceChangedHandlerFailed, Level = LogLevel.Error, Message = "VRID {vrid} a MaintenanceChanged handler failed on maintenance {maintenance}; the change itself completed")]
        public static partial void MaintenanceChangedHandlerFailed(ILogger logger, byte vrid, bool maintenance, Exception exception);
    }
}
