using System.Net;

namespace Tandem.Vrrp;

/// <summary>
/// The last advertisement with a non-zero priority that this router accepted as coming from the master: as a backup
/// that keeps waiting for it, or as a master that yields to it.
/// </summary>
/// <param name="Address">Source address of the advertisement, the master's primary address.</param>
/// <param name="Priority">Priority in the advertisement, 1 to 255.</param>
/// <param name="At">When the advertisement arrived.</param>
public sealed record VrrpMasterHeard(IPAddress Address, byte Priority, DateTimeOffset At);
