using System.Net;
using System.Net.Sockets;
using Tandem.Vrrp.Addresses;

namespace Tandem.Vrrp;

/// <summary>
/// Settings of one VRRP virtual router, bound from the node's <c>Vrrp</c> configuration section.
/// </summary>
public sealed class VrrpOptions
{
    /// <summary>Configuration section that the node binds to this class.</summary>
    public const string SectionName = "Vrrp";

    /// <summary>Linux limits interface names to 15 bytes (IFNAMSIZ minus the terminating zero).</summary>
    internal const int MaxInterfaceNameLength = 15;

    /// <summary>The Count IPvX Addr field of an advertisement is one byte (RFC 9568 §5.2.5).</summary>
    internal const int MaxVirtualAddresses = 255;

    internal const int MaxGratuitousArpCount = 100;

    internal const int MaxGratuitousArpIntervalMilliseconds = 10_000;

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

    /// <summary>
    /// Number of gratuitous ARP frames sent for each virtual address on becoming master, 0 to 100 (0 sends none).
    /// The default of 5 matches the default of <c>vrrp_garp_master_repeat</c> in keepalived 2.2.7's keepalived.conf(5).
    /// NOTE: keepalived also sends a second set 5 s later (<c>vrrp_garp_master_delay</c>); this speaker sends one set.
    /// </summary>
    public int GratuitousArpCount { get; set; } = 5;

    /// <summary>
    /// Pause in milliseconds between two rounds of gratuitous ARP frames, 0 to 10000.
    /// The default of 0 sends all rounds at once, like keepalived 2.2.7's default <c>vrrp_garp_interval</c> of 0.
    /// </summary>
    public int GratuitousArpIntervalMilliseconds { get; set; }

    /// <summary>
    /// Checks every setting and returns one message per invalid value, each naming the setting, the value and the fix.
    /// An empty list means the options are valid.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(Interface))
        {
            errors.Add($"{SectionName}:{nameof(Interface)} is missing. Set it to the network interface that carries the VRRP adverts, for example eth0.");
        }
        else if (Interface.Length > MaxInterfaceNameLength || Interface.Contains('/') || Interface.Any(char.IsWhiteSpace))
        {
            errors.Add($"{SectionName}:{nameof(Interface)} '{Interface}' is not a valid Linux interface name. Use the name shown by 'ip link', at most {MaxInterfaceNameLength} characters, without '/' or spaces.");
        }

        if (VirtualRouterId is < 1 or > 255)
        {
            errors.Add($"{SectionName}:{nameof(VirtualRouterId)} {VirtualRouterId} is out of range. Set it to a value from 1 to 255 that matches the VRID of the peer nodes.");
        }

        if (Priority is < 1 or > 255)
        {
            errors.Add($"{SectionName}:{nameof(Priority)} {Priority} is out of range. Set it from 1 to 254, higher wins the election; 255 is reserved for the owner of the virtual addresses.");
        }

        if (AdvertisementIntervalCentiseconds is < 1 or > 4095)
        {
            errors.Add($"{SectionName}:{nameof(AdvertisementIntervalCentiseconds)} {AdvertisementIntervalCentiseconds} is out of range. Set it from 1 to 4095 centiseconds; 100 sends one advert per second.");
        }

        ValidateVirtualAddresses(errors);

        if (GratuitousArpCount is < 0 or > MaxGratuitousArpCount)
        {
            errors.Add($"{SectionName}:{nameof(GratuitousArpCount)} {GratuitousArpCount} is out of range. Set it from 0 to {MaxGratuitousArpCount}; 0 sends no gratuitous ARP.");
        }

        if (GratuitousArpIntervalMilliseconds is < 0 or > MaxGratuitousArpIntervalMilliseconds)
        {
            errors.Add($"{SectionName}:{nameof(GratuitousArpIntervalMilliseconds)} {GratuitousArpIntervalMilliseconds} is out of range. Set it from 0 to {MaxGratuitousArpIntervalMilliseconds} milliseconds.");
        }

        return errors;
    }

    private void ValidateVirtualAddresses(List<string> errors)
    {
        var key = $"{SectionName}:{nameof(VirtualAddresses)}";

        if (VirtualAddresses is null || VirtualAddresses.Count == 0)
        {
            errors.Add($"{key} is empty. Add at least one virtual IPv4 address in CIDR notation, for example 198.51.100.100/24.");
            return;
        }

        if (VirtualAddresses.Count > MaxVirtualAddresses)
        {
            errors.Add($"{key} has {VirtualAddresses.Count} entries. An advertisement carries at most {MaxVirtualAddresses}; split them over several virtual routers.");
        }

        var seen = new HashSet<IPAddress>();
        for (var i = 0; i < VirtualAddresses.Count; i++)
        {
            var text = VirtualAddresses[i];
            if (!VirtualAddress.TryParse(text, out var address, out var problem))
            {
                errors.Add($"{key}:{i} '{text}' is invalid: {problem}");
                continue;
            }

            if (address.Address.AddressFamily != AddressFamily.InterNetwork)
            {
                // NOTE: VRRPv3 over IPv6 needs the link-local source and ND handling, which this release does not have.
                errors.Add($"{key}:{i} '{text}' is an IPv6 address. This release supports IPv4 virtual addresses only; remove it.");
                continue;
            }

            if (!seen.Add(address.Address))
            {
                errors.Add($"{key}:{i} '{text}' repeats an earlier entry. Remove the duplicate.");
            }
        }
    }

    /// <summary>Returns the parsed virtual addresses. Call only after <see cref="Validate"/> returned no errors.</summary>
    internal IReadOnlyList<VirtualAddress> ParseVirtualAddresses()
    {
        var result = new List<VirtualAddress>(VirtualAddresses.Count);
        foreach (var text in VirtualAddresses)
        {
            if (!VirtualAddress.TryParse(text, out var address, out var problem))
            {
                throw new InvalidOperationException($"{SectionName}:{nameof(VirtualAddresses)} '{text}' is invalid: {problem}");
            }

            result.Add(address);
        }

        return result;
    }
}
