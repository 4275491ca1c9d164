namespace Tandem.ClusterTests.Lab;

/// <summary>Waits on conditions by polling, bounded in time, so that no wait depends on a fixed sleep.</summary>
public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> every <paramref name="interval"/> until it is true or <paramref name="timeout"/> passes.</summary>
    /// <returns>True once the condition held; false when the time ran out.</returns>
    public static async Task<bool> UntilAsync(
        Func<CancellationToken, Task<bool>> condition,
        TimeSpan timeout,
        TimeSpan interval,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        long start = timeProvider.GetTimestamp();
        while (true)
        {
            if (await condition(cancellationToken))
            {
                return true;
            }

            if (timeProvider.GetElapsedTime(start) >= timeout)
            {
                return false;
            }

            await Task.Delay(interval, timeProvider, cancellationToken);
        }
    }
}
