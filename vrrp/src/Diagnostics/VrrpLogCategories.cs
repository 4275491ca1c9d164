namespace Tandem.Vrrp.Diagnostics;

/// <summary>Logger categories by subsystem, so that an operator can turn on Debug for one of them alone.</summary>
internal static class VrrpLogCategories
{
    public const string Speaker = "Tandem.Vrrp";
    public const string StateMachine = "Tandem.Vrrp.StateMachine";
    public const string Packets = "Tandem.Vrrp.Packets";
    public const string Socket = "Tandem.Vrrp.Socket";
    public const string Addresses = "Tandem.Vrrp.Addresses";
    public const string Arp = "Tandem.Vrrp.Arp";
    public const string Ndp = "Tandem.Vrrp.Ndp";
    public const string Tracking = "Tandem.Vrrp.Tracking";
    public const string Notify = "Tandem.Vrrp.Notify";
}
