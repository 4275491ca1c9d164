namespace Tandem.SessionStore;

/// <summary>Why a store operation returned <c>Unavailable</c>.</summary>
public enum StoreFailureReason
{
    /// <summary>No reply within the operation timeout, or StackExchange.Redis reported its own timeout.</summary>
    Timeout,

    /// <summary>No connection to Redis, or the connection broke during the command.</summary>
    ConnectionFailed,

    /// <summary>Redis replied with an error, for example <c>NOAUTH</c>, <c>OOM</c> or <c>READONLY</c>.</summary>
    ServerError,

    /// <summary>
    /// No connection, because Redis rejected the password or ACL user, so the command never reached it. Added after the
    /// other values, so their numbers stay the same.
    /// </summary>
    AuthenticationFailed,
}

/// <summary>The store operation a failure belongs to.</summary>
public enum StoreOperation
{
    Get,
    Set,

    /// <summary>Writing this node's heartbeat.</summary>
    HeartbeatPublish,

    /// <summary>Reading every node's heartbeat.</summary>
    HeartbeatRead,

    /// <summary>Removing this node's heartbeat when it stops.</summary>
    HeartbeatRemove,

    /// <summary>The periodic PING that measures the round-trip time.</summary>
    Ping,

    /// <summary>Reading the locally cached pins from Redis after a reconnect, to drop those another node changed.</summary>
    Revalidate,
}
