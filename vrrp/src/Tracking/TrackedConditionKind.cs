namespace Tandem.Vrrp.Tracking;

/// <summary>The kinds of tracked condition. The speaker polls the first two itself; the host reports the others.</summary>
public enum TrackedConditionKind
{
    /// <summary><c>link:IFNAME</c>: fails while <c>/sys/class/net/IFNAME/operstate</c> is down or the interface is missing.</summary>
    Link,

    /// <summary><c>file:PATH</c>: fails while the file exists and does not contain 0, like keepalived's <c>track_file</c>.</summary>
    File,

    /// <summary><c>listener</c>: fails while the node's proxy listener does not accept connections.</summary>
    Listener,

    /// <summary><c>pool:CLUSTER_ID</c>: fails while the proxy cluster has no healthy destination.</summary>
    Pool,

    /// <summary><c>store</c>: fails while the shared session store is unreachable.</summary>
    Store,
}
