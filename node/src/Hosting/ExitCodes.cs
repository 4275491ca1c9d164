namespace Tandem.Node.Hosting;

/// <summary>Process exit codes of <c>tandem-node</c>.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The node failed while starting or running, for example because the port is in use.</summary>
    public const int Failure = 1;

    /// <summary>The command line is invalid, and the usage text was printed.</summary>
    public const int Usage = 2;

    /// <summary>The configuration is invalid (EX_CONFIG from sysexits.h), and every error was printed.</summary>
    public const int InvalidConfiguration = 78;
}
