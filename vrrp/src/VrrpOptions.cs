namespace Tandem.Vrrp;

/// <summary>
/// Settings of one VRRP virtual router, bound from the node's <c>Vrrp</c> configuration section.
/// </summary>
public sealed class VrrpOptions
{
    /// <summary>Name of the network interface that carries the adverts and the virtual addresses.</summary>
    public string Interface { get; set; } = "";

    /// <summary>Virtual Router Identifier (VRID), 1 to 255.</summary>
    public int VirtualRouterId { get; set; }

    /// <summary>Priority of this node, 1 to 254 (255 is the address owner).</summary>
    public int Priority { get; set; } = 100;

    /// <summary>Advertisement_Interval in centiseconds (RFC 9568 §5.2.7), 1 to 4095.</summary>
    public int AdvertisementIntervalCentiseconds { get; set; } = 100;

    /// <summary>Preempt_Mode: whether a higher-priority backup takes over from a lower-priority master.</summary>
    public bool Preempt { get; set; } = true;

    /// <summary>Virtual addresses in CIDR notation, for example <c>198.51.100.100/24</c>.</summary>
    public List<string> VirtualAddresses { get; set; } = [];
}
