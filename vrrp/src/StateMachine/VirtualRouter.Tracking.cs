using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;

namespace Tandem.Vrrp.StateMachine;

/// <summary>Tracked conditions and preempt delay: what lowers the priority this router advertises, and when it may preempt.</summary>
/// <remarks>
/// <para>
/// Tracked conditions follow keepalived's <c>track_interface</c> and <c>track_file</c>. A failed condition with a
/// weight lowers the priority by that weight, never below 1, and the next advert carries the lowered priority. A
/// backup with Preempt_Mode then takes over from this master once it advertises a higher priority (RFC 9568 §6.4.2).
/// A failed condition of weight 0 is a fault, as in keepalived's FAULT state: a master sends priority 0 and moves to
/// Backup, and a backup never becomes master until every such condition recovers.
/// </para>
/// <para>
/// The address owner (priority 255) keeps its priority, because RFC 9568 §5.2.4 reserves 255 for the owner, and
/// keepalived 2.2.7 likewise accepts only weight 0 for an owner. The options reject weighted conditions for it.
/// </para>
/// </remarks>
internal sealed partial class VirtualRouter
{
    private int _priorityLoweredBy;
    private bool _fault;
    private string _faultCause = "";
    private bool _masterDownWhileFaulted;

    /// <summary>Raised when a tracked condition of weight 0 fails or the last one recovers, under the router's lock.</summary>
    public event Action<bool>? FaultChanged;

    /// <summary>The priority that this router advertises and compares: the configured one minus the weights of failed tracked conditions.</summary>
    public byte EffectivePriority
    {
        get
        {
            lock (_lock)
            {
                return CurrentPriority;
            }
        }
    }

    /// <summary>True while a tracked condition of weight 0 has failed.</summary>
    public bool InFault
    {
        get
        {
            lock (_lock)
            {
                return _fault;
            }
        }
    }

    private byte CurrentPriority => _settings.Priority == VirtualRouterSettings.OwnerPriority
        ? VirtualRouterSettings.OwnerPriority
        : (byte)Math.Max(1, _settings.Priority - _priorityLoweredBy);

    /// <summary>
    /// Applies the tracked conditions: <paramref name="loweredBy"/> is the sum of the weights of the failed ones, and
    /// <paramref name="faultCause"/> names the failed conditions of weight 0, or is null when there are none.
    /// </summary>
    public void SetTracking(int loweredBy, string? faultCause)
    {
        lock (_lock)
        {
            var before = CurrentPriority;
            _priorityLoweredBy = Math.Max(0, loweredBy);
            var after = CurrentPriority;
            if (before != after)
            {
                // The next advert carries the new priority (the Adver_Timer is not restarted), as in keepalived.
                Log.EffectivePriorityChanged(_logger, _settings.VirtualRouterId, before, after, _settings.Priority);
            }

            var fault = faultCause is not null;
            if (fault == _fault)
            {
                _faultCause = faultCause ?? "";
                return;
            }

            _fault = fault;
            _faultCause = faultCause ?? "";
            if (fault)
            {
                EnterFault();
            }
            else
            {
                LeaveFault();
            }
        }
    }

    private void EnterFault()
    {
        Log.FaultEntered(_logger, _settings.VirtualRouterId, _state, _faultCause);
        if (_state == VrrpState.Master)
        {
            ChangeState(VrrpState.Backup, $"tracked condition failed: {_faultCause}");
        }

        // Raised after the move to Backup, so that a subscriber sees the fault as the latest change.
        RaiseFaultChanged(true);
    }

    private void LeaveFault()
    {
        Log.FaultLeft(_logger, _settings.VirtualRouterId, _state);
        RaiseFaultChanged(false);
        if (_state == VrrpState.Backup && _masterDownWhileFaulted && !_maintenance)
        {
            // No master was heard for Master_Down_Interval during the fault. As after maintenance, one more interval
            // gives a master that appeared meanwhile the time to be heard before this router takes over.
            var masterDown = ComputeMasterDownInterval();
            StartMasterDownTimer(masterDown, $"no advert for Master_Down_Interval ({masterDown} cs) after the tracked conditions recovered");
        }

        _masterDownWhileFaulted = false;
    }

    /// <summary>Handles the Master_Down_Timer of a backup in fault: it stays Backup and remembers the expiry.</summary>
    private void OnMasterDownInFault()
    {
        _masterDownWhileFaulted = true;
        Log.TakeoverSkippedInFault(_logger, _settings.VirtualRouterId, _faultCause, _masterDownCause);
    }

    /// <summary>
    /// Returns true while the preempt delay after the start runs, so that a backup with Preempt_Mode accepts a
    /// lower-priority master for that long. It never delays a takeover from a master that went silent.
    /// </summary>
    private bool DelaysPreemption()
    {
        if (_settings.PreemptDelay <= TimeSpan.Zero)
        {
            return false;
        }

        return _timeProvider.GetElapsedTime(_startTimestamp) < _settings.PreemptDelay;
    }

    private void RaiseFaultChanged(bool fault)
    {
        var handlers = FaultChanged;
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Action<bool>>())
        {
            try
            {
                handler(fault);
            }
            catch (Exception ex)
            {
                // Like a StateChanged handler, a subscriber's bug must not undo the change.
                Log.FaultChangedHandlerFailed(_logger, _settings.VirtualRouterId, fault, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.EffectivePriorityChanged, Level = LogLevel.Information, Message = "VRID {vrid} effective priority {from} -> {to} (configured {configured}) because tracked conditions changed")]
        public static partial void EffectivePriorityChanged(ILogger logger, byte vrid, byte from, byte to, byte configured);

        [LoggerMessage(EventId = VrrpEventIds.FaultEntered, Level = LogLevel.Warning, Message = "VRID {vrid} in state {state} entered fault, so it will not be master until it recovers: {cause}")]
        public static partial void FaultEntered(ILogger logger, byte vrid, VrrpState state, string cause);

        [LoggerMessage(EventId = VrrpEventIds.FaultLeft, Level = LogLevel.Information, Message = "VRID {vrid} in state {state} left fault: every tracked condition of weight 0 recovered")]
        public static partial void FaultLeft(ILogger logger, byte vrid, VrrpState state);

        [LoggerMessage(EventId = VrrpEventIds.TakeoverSkippedInFault, Level = LogLevel.Warning, Message = "VRID {vrid} stays Backup because a tracked condition failed ({fault}), although it would take over now: {cause}")]
        public static partial void TakeoverSkippedInFault(ILogger logger, byte vrid, string fault, string cause);

        [LoggerMessage(EventId = VrrpEventIds.FaultChangedHandlerFailed, Level = LogLevel.Error, Message = "VRID {vrid} a FaultChanged handler failed on fault {fault}; the change itself completed")]
        public static partial void FaultChangedHandlerFailed(ILogger logger, byte vrid, bool fault, Exception exception);
    }
}
