namespace Tandem.Vrrp;

/// <summary>States of the RFC 9568 §6.4 state machine.</summary>
public enum VrrpState
{
    Initialize,
    Backup,
    Master,
}

/// <summary>A transition of a virtual router from one state to another, with the reason for it.</summary>
public sealed record VrrpStateChange(int VirtualRouterId, VrrpState From, VrrpState To, string Reason, DateTimeOffset At);
