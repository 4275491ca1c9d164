using StackExchange.Redis;

namespace Tandem.SessionStore;

/// <summary>
/// What every Redis-backed store does around one command: wait for it no longer than the store's bound, and sort a
/// failure into a <see cref="StoreFailureReason"/> so that it can be counted instead of thrown to the caller.
/// </summary>
internal static class RedisOperation
{
    public static async Task<T> WaitBoundedAsync<T>(
        Task<T> command,
        TimeSpan timeout,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        try
        {
            return await command.WaitAsync(timeout, timeProvider, cancellationToken);
        }
        catch when (!command.IsCompleted)
        {
            // No caller awaits the command any more, so observe its eventual fault here. Otherwise it surfaces as an
            // unobserved task exception.
            _ = command.ContinueWith(
                static task => _ = task.Exception,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    public static bool TryClassify(Exception exception, CancellationToken cancellationToken, out StoreFailureReason reason)
    {
        switch (exception)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                // The caller gave up, for example because the client disconnected: not a store fault.
                reason = default;
                return false;
            case TimeoutException:
                // Both WaitAsync's timeout and RedisTimeoutException derive from TimeoutException.
                reason = StoreFailureReason.Timeout;
                return true;
            case RedisConnectionException connection
                when (connection.InnerException as RedisConnectionException ?? connection).FailureType
                    == ConnectionFailureType.AuthenticationFailure:
                // Fail-fast commands throw "no connection is available" with the connection's last failure inside.
                reason = StoreFailureReason.AuthenticationFailed;
                return true;
            case RedisConnectionException:
            case ObjectDisposedException:
                reason = StoreFailureReason.ConnectionFailed;
                return true;
            case RedisException:
                reason = StoreFailureReason.ServerError;
                return true;
            default:
                reason = default;
                return false;
        }
    }
}
