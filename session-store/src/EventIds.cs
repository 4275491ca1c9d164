namespace Tandem.SessionStore;

/// <summary>
/// Event ids of every log message of this assembly, in one table so they stay unique. The session store uses the
/// range 2000 to 2999; the node uses 1000 to 1999.
/// </summary>
internal static class EventIds
{
    public const int RedisConnecting = 2000;
    public const int RedisConnected = 2001;
    public const int RedisConnectionFailed = 2002;
    public const int RedisConnectionRestored = 2003;
    public const int StoreOperationFailed = 2004;
    public const int RedisNotConnectedAtStartup = 2005;
    public const int RedisConnectionFailedAfterSuppressed = 2006;
    public const int StoreOperationFailedAfterSuppressed = 2007;
    public const int HeartbeatOperationFailed = 2008;
    public const int HeartbeatOperationFailedAfterSuppressed = 2009;
    public const int ChangeHintSubscribeFailed = 2010;
    public const int ChangeHintRejected = 2011;
    public const int LocalCacheRevalidated = 2012;
    public const int LocalCacheRevalidationFailed = 2013;
    public const int RedisAuthenticationFailed = 2014;
}
