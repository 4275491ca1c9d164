namespace Tandem.ClusterTests.Lab.Nodes;

/// <summary>The VRRP settings of the two lab nodes.</summary>
public sealed record NodeSettings
{
    public byte VirtualRouterId { get; init; } = 51;

    public byte NodeAPriority { get; init; } = 150;

    public byte NodeBPriority { get; init; } = 100;

    /// <summary>Advertisement_Interval in centiseconds, the unit of the Max Adver Int field of a VRRPv3 advert.</summary>
    public int AdvertisementIntervalCentiseconds { get; init; } = 100;

    public bool Preempt { get; init; } = true;

    public TimeSpan AdvertisementInterval => TimeSpan.FromMilliseconds(AdvertisementIntervalCentiseconds * 10);

    /// <summary>Skew_Time of a backup with <paramref name="priority"/>: ((256 - Priority) * Active_Adver_Interval) / 256 (RFC 9568 §6.1).</summary>
    public TimeSpan SkewTime(byte priority) => AdvertisementInterval * (256 - priority) / 256;

    /// <summary>Active_Down_Interval of a backup with <paramref name="priority"/>: (3 * Active_Adver_Interval) + Skew_Time (RFC 9568 §6.1).</summary>
    public TimeSpan ActiveDownInterval(byte priority) => (AdvertisementInterval * 3) + SkewTime(priority);

    /// <summary>
    /// The maximum takeover time the drill accepts from a backup with <paramref name="backupPriority"/>
    /// when the master dies without a priority-0 advert: the backup's Active_Down_Interval plus
    /// one second for it to add the address, send gratuitous ARP and respond to the client.
    /// </summary>
    public TimeSpan TakeoverBound(byte backupPriority) => ActiveDownInterval(backupPriority) + TimeSpan.FromSeconds(1);

    /// <summary>
    /// The maximum takeover time the drill accepts after the master sent a priority-0 advert: the
    /// backup waits only Skew_Time (RFC 9568 §6.4.2), plus one second as in <see cref="TakeoverBound"/>.
    /// </summary>
    public TimeSpan PriorityZeroTakeoverBound(byte backupPriority) => SkewTime(backupPriority) + TimeSpan.FromSeconds(1);
}
