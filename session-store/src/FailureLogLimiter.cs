namespace Tandem.SessionStore;

/// <summary>
/// Lets one log message per key through in each interval and counts the rest, so a Redis outage under load
/// produces a few log lines with counts instead of one line per request.
/// </summary>
internal sealed class FailureLogLimiter<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, State> _states = [];
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;

    public FailureLogLimiter(TimeProvider timeProvider, TimeSpan interval)
    {
        _timeProvider = timeProvider;
        _interval = interval;
    }

    public TimeSpan Interval => _interval;

    /// <summary>
    /// Returns true when a message for <paramref name="key"/> should be logged now, with the number of messages
    /// held back since the last one that was logged.
    /// </summary>
    public bool TryEnter(TKey key, out long suppressed)
    {
        var now = _timeProvider.GetTimestamp();

        lock (_lock)
        {
            if (_states.TryGetValue(key, out var state)
                && _timeProvider.GetElapsedTime(state.LoggedAt, now) < _interval)
            {
                state.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = state?.Suppressed ?? 0;
            _states[key] = new State { LoggedAt = now };
            return true;
        }
    }

    /// <summary>Forgets <paramref name="key"/>, so its next message is logged at once.</summary>
    public void Reset(TKey key)
    {
        lock (_lock)
        {
            _states.Remove(key);
        }
    }

    private sealed class State
    {
        public long LoggedAt { get; init; }

        public long Suppressed { get; set; }
    }
}
