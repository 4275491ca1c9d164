namespace Tandem.SessionStore;

/// <summary>
/// Settings of the affinity store, bound from the node's <c>SessionStore</c> configuration section.
/// </summary>
public sealed class SessionStoreOptions
{
    /// <summary>
    /// StackExchange.Redis configuration string, for example <c>198.51.100.20:6379,password=...</c>.
    /// Empty selects the in-process store, which only one node can use.
    /// </summary>
    public string Redis { get; set; } = "";

    /// <summary>Prefix of every Redis key this node writes, so several clusters can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "tandem:";

    /// <summary>How long a pin lives after it was last written, in seconds.</summary>
    public int AffinityTtlSeconds { get; set; } = 3600;

    /// <summary>
    /// Maximum time a proxied request waits for one Redis command, in milliseconds. After it the request goes on
    /// without the shared pin.
    /// </summary>
    public int OperationTimeoutMilliseconds { get; set; } = 250;

    /// <summary>Maximum time of one attempt to connect to Redis, in milliseconds.</summary>
    public int ConnectTimeoutMilliseconds { get; set; } = 2000;

    /// <summary>
    /// What the node does when a session's pinned destination is unhealthy or gone: <c>Repin</c> moves the session to
    /// a healthy destination that every node picks alike, <c>Fail</c> answers 503. The node parses and checks it.
    /// </summary>
    public string UnhealthyPinPolicy { get; set; } = "Repin";

    public TimeSpan AffinityTtl => TimeSpan.FromSeconds(AffinityTtlSeconds);

    public TimeSpan OperationTimeout => TimeSpan.FromMilliseconds(OperationTimeoutMilliseconds);
}
