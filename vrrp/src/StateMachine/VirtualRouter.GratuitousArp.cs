namespace Tandem.Vrrp.StateMachine;

/// <summary>
/// The gratuitous ARP bursts that a master sends after the first one: a second burst after a delay and periodic
/// refreshes, as keepalived's <c>garp_master_delay</c> and <c>garp_master_refresh</c> do. RFC 9568 §6.4.2 asks only
/// for the first burst. The later ones repair hosts and switches that missed it or aged the entry out.
/// </summary>
internal sealed partial class VirtualRouter
{
    private ITimer? _gratuitousArpDelayTimer;
    private ITimer? _gratuitousArpRefreshTimer;
    private long _gratuitousArpTimerGeneration;

    private void StartGratuitousArpTimers()
    {
        CancelGratuitousArpTimers();
        var generation = ++_gratuitousArpTimerGeneration;
        if (_settings.GratuitousArpMasterDelay > TimeSpan.Zero)
        {
            _gratuitousArpDelayTimer = _timeProvider.CreateTimer(_ => OnGratuitousArpTimer(generation), null, _settings.GratuitousArpMasterDelay, Timeout.InfiniteTimeSpan);
        }

        if (_settings.GratuitousArpRefresh > TimeSpan.Zero)
        {
            _gratuitousArpRefreshTimer = _timeProvider.CreateTimer(_ => OnGratuitousArpTimer(generation), null, _settings.GratuitousArpRefresh, _settings.GratuitousArpRefresh);
        }
    }

    private void CancelGratuitousArpTimers()
    {
        _gratuitousArpTimerGeneration++;
        _gratuitousArpDelayTimer?.Dispose();
        _gratuitousArpDelayTimer = null;
        _gratuitousArpRefreshTimer?.Dispose();
        _gratuitousArpRefreshTimer = null;
    }

    private void OnGratuitousArpTimer(long generation)
    {
        lock (_lock)
        {
            if (generation != _gratuitousArpTimerGeneration || _state != VrrpState.Master)
            {
                return;
            }

            _actions.AnnounceAddresses();
        }
    }
}
