namespace Tandem.Monitoring.Cli;

/// <summary>Exit codes of tandemctl. With several nodes the highest code of any node wins.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The node responded with a gRPC error, for example PERMISSION_DENIED.</summary>
    public const int NodeError = 1;

    /// <summary>The command line is invalid.</summary>
    public const int Usage = 2;

    /// <summary>The node could not be reached or did not respond in time.</summary>
    public const int Unreachable = 3;
}
