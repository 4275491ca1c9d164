namespace Tandem.Vrrp;

/// <summary>The outcome of a planned hand-over of the Master state to a backup.</summary>
public enum VrrpHandOverResult
{
    /// <summary>A backup took over: its advert arrived, and this router moved to Backup and released the addresses.</summary>
    Completed,

    /// <summary>This router is not master, so there is nothing to hand over.</summary>
    NotMaster,

    /// <summary>
    /// No advert from a new master arrived within Master_Down_Interval after the priority-0 advert, so this router
    /// resumed advertising and is still master. Either no backup runs or every backup is in maintenance.
    /// </summary>
    NoBackupTookOver,

    /// <summary>The speaker stopped, or was not started, before a backup took over.</summary>
    Stopped,
}

/// <summary>A change of a virtual router's maintenance mode, with the reason for it.</summary>
/// <param name="Maintenance">True when the router entered maintenance, false when it left it.</param>
public sealed record VrrpMaintenanceChange(int VirtualRouterId, bool Maintenance, string Reason, DateTimeOffset At);
