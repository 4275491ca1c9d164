namespace Tandem.Vrrp.Tracking;

/// <summary>One tracked condition of a virtual router, an entry of <c>Vrrp:Track</c>.</summary>
public sealed class VrrpTrackOptions
{
    /// <summary>
    /// What to track: <c>link:IFNAME</c> (the interface's link is down), <c>file:/ABSOLUTE/PATH</c> (the file exists
    /// and does not contain 0), or a condition that the node provides: <c>listener</c>, <c>pool:CLUSTER_ID</c>, <c>store</c>.
    /// </summary>
    public string Condition { get; set; } = "";

    /// <summary>
    /// How much the priority drops while the condition fails, 1 to 253. 0, the default as in keepalived's
    /// <c>track_interface</c>, makes a failure a fault: the router gives up the Master state and never takes it.
    /// </summary>
    public int Weight { get; set; }
}
