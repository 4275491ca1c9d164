namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>How the drill takes the master down.</summary>
public enum DrillVariant
{
    /// <summary>
    /// SIGKILL of the node process, then <c>tandem-node release</c> in its namespace, as systemd's
    /// ExecStopPost would run it. The host and its link stay up.
    /// </summary>
    ProcessKill,

    /// <summary>The whole host is gone: SIGSTOP of the node process, its link cut, then SIGKILL. Nothing cleans up.</summary>
    HostDown,

    /// <summary>
    /// SIGTERM, as systemd's stop sends it. The node sends a priority-0 advert, so the backup
    /// takes over after its Skew_Time instead of its Active_Down_Interval (RFC 9568 §6.4.2).
    /// </summary>
    GracefulStop,
}

public static class DrillVariantNames
{
    public const string ProcessKill = "process-kill";
    public const string HostDown = "host-down";
    public const string GracefulStop = "graceful-stop";

    public static string ToName(this DrillVariant variant) => variant switch
    {
        DrillVariant.ProcessKill => ProcessKill,
        DrillVariant.HostDown => HostDown,
        DrillVariant.GracefulStop => GracefulStop,
        _ => throw new NotSupportedException($"Unknown drill variant {variant}."),
    };

    /// <summary>Parses a variant name as used on the command line.</summary>
    public static bool TryParse(string name, out DrillVariant variant)
    {
        switch (name)
        {
            case ProcessKill:
                variant = DrillVariant.ProcessKill;
                return true;
            case HostDown:
                variant = DrillVariant.HostDown;
                return true;
            case GracefulStop:
                variant = DrillVariant.GracefulStop;
                return true;
            default:
                variant = default;
                return false;
        }
    }
}
