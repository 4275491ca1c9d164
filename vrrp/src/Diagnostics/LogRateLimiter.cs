namespace Tandem.Vrrp.Diagnostics;

/// <summary>
/// Decides when a repeating log message may be written again: the first time for each key, then at most once per
/// interval, reporting how many occurrences were left out in between. Safe to call from several threads, because
/// one lock guards the table.
/// </summary>
internal sealed class LogRateLimiter<TKey>
    where TKey : notnull
{
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Entry> _entries = [];

    public LogRateLimiter(TimeProvider timeProvider, TimeSpan interval)
    {
        _timeProvider = timeProvider;
        _interval = interval;
    }

    /// <summary>
    /// Records one occurrence of <paramref name="key"/>. Returns true when it should be logged, with the number of
    /// occurrences suppressed since the last logged one.
    /// </summary>
    public bool ShouldLog(TKey key, out long suppressed)
    {
        var now = _timeProvider.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var entry) && _timeProvider.GetElapsedTime(entry.LastLogged, now) < _interval)
            {
                _entries[key] = entry with { Suppressed = entry.Suppressed + 1 };
                suppressed = 0;
                return false;
            }

            suppressed = entry.Suppressed;
            _entries[key] = new Entry(now, 0);
            return true;
        }
    }

    /// <summary>
    /// Returns every key with occurrences suppressed since its last report, with their number, and sets those numbers
    /// to zero. The interval keeps running, so the next occurrence of a key is still suppressed until it ends.
    /// </summary>
    public IReadOnlyList<KeyValuePair<TKey, long>> TakeSuppressed()
    {
        lock (_lock)
        {
            var suppressedCounts = new List<KeyValuePair<TKey, long>>();
            foreach (var (key, entry) in _entries)
            {
                if (entry.Suppressed > 0)
                {
                    suppressedCounts.Add(new KeyValuePair<TKey, long>(key, entry.Suppressed));
                }
            }

            foreach (var (key, _) in suppressedCounts)
            {
                _entries[key] = _entries[key] with { Suppressed = 0 };
            }

            return suppressedCounts;
        }
    }

    private readonly record struct Entry(long LastLogged, long Suppressed);
}
