namespace Tandem.Node.Monitoring;

/// <summary>The last Redis round-trip time, written by the heartbeat service and read into the node status.</summary>
internal sealed class SessionStoreProbe
{
    private long _roundTripTicks = -1;

    /// <summary>Round-trip time of the last PING, or null before the first reply and after a failed PING.</summary>
    public TimeSpan? RoundTripTime
    {
        get
        {
            var ticks = Interlocked.Read(ref _roundTripTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
        set => Interlocked.Exchange(ref _roundTripTicks, value?.Ticks ?? -1);
    }
}
