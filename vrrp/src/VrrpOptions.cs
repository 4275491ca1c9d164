using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tracking;

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

    /// <summary>Longest simple text password that fits the 8-byte VRRPv2 Authentication Data field.</summary>
    internal const int MaxAuthenticationPasswordBytes = 8;

    /// <summary>VRRP version: 3 (RFC 9568, the default) or 2 (RFC 3768, keepalived's default).</summary>
    public int Version { get; set; } = 3;

    /// <summary>
    /// Advertisement_Interval in centiseconds (RFC 9568 §5.2.7), 1 to 4095. With version 2 it must be a whole number
    /// of seconds, 100 to 25500, because the VRRPv2 Adver Int field counts seconds (RFC 3768 §5.3.7).
    /// </summary>
    public int AdvertisementIntervalCentiseconds { get; set; } = 100;

    /// <summary>Preempt_Mode: whether a higher-priority backup takes over from a lower-priority master.</summary>
    public bool Preempt { get; set; } = true;

    /// <summary>
    /// Virtual addresses in CIDR notation, all IPv4 (<c>198.51.100.100/24</c>) or all IPv6, which makes the router
    /// an IPv4 or an IPv6 router (RFC 9568 keeps the families in separate virtual routers). An IPv6 list starts with
    /// a link-local address such as <c>fe80::100/64</c> (RFC 9568 §5.2.9).
    /// </summary>
    public List<string> VirtualAddresses { get; set; } = [];

    /// <summary>
    /// VRRPv2 simple text password, at most 8 bytes in UTF-8; empty sends Auth Type 0 (no authentication). It travels
    /// in clear text, so it only keeps misconfigured routers apart. Not allowed with version 3, which has no
    /// authentication field.
    /// </summary>
    public string AuthenticationPassword { get; set; } = "";

    /// <summary>
    /// What the VRRPv3 checksum covers over IPv4: <c>PseudoHeader</c> (the default, as keepalived 2.2.7 and FRR
    /// compute it) or <c>MessageOnly</c>. Ignored with version 2, whose checksum always covers the message alone.
    /// </summary>
    public string ChecksumMode { get; set; } = nameof(VrrpChecksumMode.PseudoHeader);

    /// <summary>
    /// Addresses of the other nodes, of the family of <see cref="VirtualAddresses"/>. Empty sends adverts to the
    /// multicast group 224.0.0.18 or ff02::12. Otherwise each advert goes to every peer, and adverts from other
    /// sources are discarded (keepalived's <c>unicast_peer</c>). IPv6 peers are the link-local addresses that the
    /// other nodes send from.
    /// </summary>
    public List<string> UnicastPeers { get; set; } = [];

    /// <summary>
    /// Number of gratuitous ARP frames sent for each virtual address on becoming master, 0 to 100 (0 sends none).
    /// The default of 5 matches the default of <c>vrrp_garp_master_repeat</c> in keepalived 2.2.7's keepalived.conf(5).
    /// The later bursts of <see cref="GratuitousArpMasterDelaySeconds"/> and <see cref="GratuitousArpRefreshSeconds"/>
    /// send as many.
    /// </summary>
    public int GratuitousArpCount { get; set; } = 5;

    /// <summary>
    /// Pause in milliseconds between two rounds of gratuitous ARP frames, 0 to 10000.
    /// The default of 0 sends all rounds at once, like keepalived 2.2.7's default <c>vrrp_garp_interval</c> of 0.
    /// </summary>
    public int GratuitousArpIntervalMilliseconds { get; set; }

    /// <summary>
    /// Seconds after becoming master until a second burst of gratuitous ARP, 0 to 1000; 0 sends none. The default of
    /// 5 matches keepalived 2.2.7's default <c>vrrp_garp_master_delay</c>.
    /// </summary>
    public int GratuitousArpMasterDelaySeconds { get; set; } = 5;

    /// <summary>
    /// Period in seconds of the gratuitous ARP bursts while master, 0 to 86400; 0, the default, sends none
    /// (keepalived's <c>garp_master_refresh</c>). It keeps switch and host caches right when they age entries out.
    /// </summary>
    public int GratuitousArpRefreshSeconds { get; set; }

    /// <summary>
    /// Seconds after the start during which a backup with <see cref="Preempt"/> does not take over from a master with
    /// a lower priority, 0 to 1000 (keepalived's <c>preempt_delay</c>). It never delays a takeover from a silent master.
    /// </summary>
    public int PreemptDelaySeconds { get; set; }

    /// <summary>Conditions that lower the priority or keep this node from being master while they fail.</summary>
    public List<VrrpTrackOptions> Track { get; set; } = [];

    /// <summary>Milliseconds between two checks of the <c>link:</c> and <c>file:</c> conditions of <see cref="Track"/>, 100 to 60000.</summary>
    public int TrackIntervalMilliseconds { get; set; } = 1000;

    /// <summary>
    /// Absolute path of a program run on every state change with keepalived's <c>notify</c> arguments:
    /// <c>INSTANCE</c>, the router name, <c>MASTER</c>, <c>BACKUP</c>, <c>FAULT</c> or <c>STOP</c>, and the effective
    /// priority. It runs without a shell. Empty, the default, runs nothing.
    /// </summary>
    public string NotifyCommand { get; set; } = "";

    /// <summary>Seconds after which a <see cref="NotifyCommand"/> run is killed, 1 to 3600.</summary>
    public int NotifyTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Whether the unsolicited neighbour advertisements for IPv6 virtual addresses set the Router flag (RFC 4861
    /// §4.4). Off by default, because the node serves the addresses as a host. Set it when hosts use a virtual
    /// address as their default router. Their number and spacing follow the gratuitous ARP settings.
    /// </summary>
    public bool NeighborAdvertisementRouterFlag { get; set; }

    /// <summary>
    /// Checks every setting and returns one message per invalid value, each naming the setting, the value and the fix.
    /// An empty list means the options are valid. <see cref="Interface"/> must also exist in this process's network
    /// namespace.
    /// </summary>
    public IReadOnlyList<string> Validate() => Validate(ListInterfaceNames);

    /// <summary>
    /// Checks every setting as <see cref="Validate()"/> does, but takes the existing interface names from
    /// <paramref name="listInterfaceNames"/>. When that returns null, the existence of the interface is not checked.
    /// </summary>
    internal IReadOnlyList<string> Validate(Func<IReadOnlyCollection<string>?> listInterfaceNames)
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
        else if (listInterfaceNames() is { } names && !names.Contains(Interface, StringComparer.Ordinal))
        {
            var existing = names.Count == 0 ? "none" : string.Join(", ", names.Order(StringComparer.Ordinal));
            errors.Add($"{SectionName}:{nameof(Interface)} '{Interface}' does not exist on this host. Set it to the interface that carries the VRRP adverts; the interfaces here are: {existing}.");
        }

        if (VirtualRouterId is < 1 or > 255)
        {
            errors.Add($"{SectionName}:{nameof(VirtualRouterId)} {VirtualRouterId} is out of range. Set it to a value from 1 to 255 that matches the VRID of the peer nodes.");
        }

        if (Priority is < 1 or > 255)
        {
            errors.Add($"{SectionName}:{nameof(Priority)} {Priority} is out of range. Set it from 1 to 254, higher wins the election; 255 is reserved for the owner of the virtual addresses.");
        }

        ValidateVersionSettings(errors);
        ValidateUnicastPeers(errors);

        ValidateVirtualAddresses(errors);

        if (GratuitousArpCount is < 0 or > MaxGratuitousArpCount)
        {
            errors.Add($"{SectionName}:{nameof(GratuitousArpCount)} {GratuitousArpCount} is out of range. Set it from 0 to {MaxGratuitousArpCount}; 0 sends no gratuitous ARP.");
        }

        if (GratuitousArpIntervalMilliseconds is < 0 or > MaxGratuitousArpIntervalMilliseconds)
        {
            errors.Add($"{SectionName}:{nameof(GratuitousArpIntervalMilliseconds)} {GratuitousArpIntervalMilliseconds} is out of range. Set it from 0 to {MaxGratuitousArpIntervalMilliseconds} milliseconds.");
        }

        TrackingOptionsValidator.Validate(this, errors);

        return errors;
    }

    private void ValidateVersionSettings(List<string> errors)
    {
        var intervalKey = $"{SectionName}:{nameof(AdvertisementIntervalCentiseconds)}";
        switch (Version)
        {
            case 3:
                if (AdvertisementIntervalCentiseconds is < 1 or > VrrpAdvertisement.MaxIntervalCentiseconds)
                {
                    errors.Add($"{intervalKey} {AdvertisementIntervalCentiseconds} is out of range. Set it from 1 to {VrrpAdvertisement.MaxIntervalCentiseconds} centiseconds; 100 sends one advert per second.");
                }

                if (!string.IsNullOrEmpty(AuthenticationPassword))
                {
                    errors.Add($"{SectionName}:{nameof(AuthenticationPassword)} is set, but {SectionName}:{nameof(Version)} is 3, which has no authentication (RFC 9568 §9). Remove the password, or set {SectionName}:{nameof(Version)} to 2 if the peers use VRRPv2 with a password.");
                }

                break;
            case 2:
                var maxCentiseconds = VrrpAdvertisement.MaxVersion2IntervalSeconds * 100;
                if (AdvertisementIntervalCentiseconds % 100 != 0 || AdvertisementIntervalCentiseconds is < 100 || AdvertisementIntervalCentiseconds > maxCentiseconds)
                {
                    errors.Add($"{intervalKey} {AdvertisementIntervalCentiseconds} is invalid with {SectionName}:{nameof(Version)} 2, which advertises whole seconds. Set it to a multiple of 100 from 100 to {maxCentiseconds}; 100 sends one advert per second.");
                }

                if (AuthenticationPassword is { Length: > 0 } password && Encoding.UTF8.GetByteCount(password) > MaxAuthenticationPasswordBytes)
                {
                    // The message gives the length only: the password itself must never reach a log.
                    errors.Add($"{SectionName}:{nameof(AuthenticationPassword)} is {Encoding.UTF8.GetByteCount(password)} bytes long. VRRPv2 carries at most {MaxAuthenticationPasswordBytes} bytes; use a shorter password, the same on every node (keepalived uses only the first 8 bytes of auth_pass).");
                }

                break;
            default:
                errors.Add($"{SectionName}:{nameof(Version)} {Version} is not supported. Set it to 3 (RFC 9568, the default) or 2 (RFC 3768, keepalived's default), the same on every node.");
                break;
        }

        if (!Enum.TryParse<VrrpChecksumMode>(ChecksumMode, ignoreCase: true, out var mode) || !Enum.IsDefined(mode) || int.TryParse(ChecksumMode, out _))
        {
            errors.Add($"{SectionName}:{nameof(ChecksumMode)} '{ChecksumMode}' is not a checksum mode. Set it to {nameof(VrrpChecksumMode.PseudoHeader)} (the default, as keepalived and FRR compute it) or {nameof(VrrpChecksumMode.MessageOnly)}.");
        }
        else if (mode == VrrpChecksumMode.MessageOnly && GetAddressFamily() == AddressFamily.InterNetworkV6)
        {
            errors.Add($"{SectionName}:{nameof(ChecksumMode)} is {ChecksumMode}, but the virtual addresses are IPv6, whose checksum always covers the IPv6 pseudo-header (RFC 9568 §5.2.8). Remove the setting or set it to {nameof(VrrpChecksumMode.PseudoHeader)}.");
        }
    }

    private void ValidateUnicastPeers(List<string> errors)
    {
        var key = $"{SectionName}:{nameof(UnicastPeers)}";
        if (UnicastPeers is null)
        {
            return;
        }

        var family = GetAddressFamily();
        var seen = new HashSet<IPAddress>();
        for (var i = 0; i < UnicastPeers.Count; i++)
        {
            var text = UnicastPeers[i];
            if (!IPAddress.TryParse(text, out var address) || text.Contains('/') || text.Contains('%'))
            {
                errors.Add($"{key}:{i} '{text}' is not an IP address. Give the interface address of another node, for example 198.51.100.12 or fe80::12, without a prefix length or zone.");
                continue;
            }

            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                ValidateIpv6UnicastPeer(errors, $"{key}:{i}", text, address, family, seen);
                continue;
            }

            if (family == AddressFamily.InterNetworkV6)
            {
                errors.Add($"{key}:{i} '{text}' is an IPv4 address, but the virtual addresses are IPv6. Give the link-local IPv6 address of the other node, for example fe80::12.");
                continue;
            }

            var first = address.GetAddressBytes()[0];
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.Broadcast) || first is >= 224 or 127)
            {
                errors.Add($"{key}:{i} '{text}' is not a unicast address of another node. Remove it; leave the list empty to use the multicast group 224.0.0.18.");
                continue;
            }

            if (!seen.Add(address))
            {
                errors.Add($"{key}:{i} '{text}' repeats an earlier entry. Remove the duplicate.");
            }
        }
    }

    private static void ValidateIpv6UnicastPeer(List<string> errors, string key, string text, IPAddress address, AddressFamily? family, HashSet<IPAddress> seen)
    {
        if (family == AddressFamily.InterNetwork)
        {
            errors.Add($"{key} '{text}' is an IPv6 address, but the virtual addresses are IPv4. Give the IPv4 address of the other node, for example 198.51.100.12.");
        }
        else if (address.IsIPv6Multicast || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6Loopback) || address.IsIPv4MappedToIPv6)
        {
            errors.Add($"{key} '{text}' is not a unicast address of another node. Remove it; leave the list empty to use the multicast group ff02::12.");
        }
        else if (!address.IsIPv6LinkLocal)
        {
            // Our adverts leave from the link-local address (RFC 9568 §5.1.2.1), so peers see that as our source.
            errors.Add($"{key} '{text}' is not a link-local address. VRRP over IPv6 sends from link-local addresses, so give the fe80:: address of the other node's interface ('ip -6 addr show scope link').");
        }
        else if (!seen.Add(address))
        {
            errors.Add($"{key} '{text}' repeats an earlier entry. Remove the duplicate.");
        }
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
        var parsedAny = false;
        for (var i = 0; i < VirtualAddresses.Count; i++)
        {
            var text = VirtualAddresses[i];
            if (!VirtualAddress.TryParse(text, out var address, out var problem))
            {
                errors.Add($"{key}:{i} '{text}' is invalid: {problem}");
                continue;
            }

            var isFirst = !parsedAny;
            parsedAny = true;
            if (ValidateAddressFamily(errors, $"{key}:{i}", text, address, isFirst))
            {
                continue;
            }

            if (!seen.Add(address.Address))
            {
                errors.Add($"{key}:{i} '{text}' repeats an earlier entry. Remove the duplicate.");
            }
        }
    }

    /// <summary>
    /// Adds an error and returns true when <paramref name="address"/> cannot join this router: an IPv6 address under
    /// VRRPv2, a family that differs from the first address, or an IPv6 list that does not start with a link-local address.
    /// </summary>
    private bool ValidateAddressFamily(List<string> errors, string key, string text, VirtualAddress address, bool isFirst)
    {
        var family = GetAddressFamily();
        if (address.Address.AddressFamily != family)
        {
            errors.Add($"{key} '{text}' is {Describe(address.Address.AddressFamily)}, but the first virtual address is {Describe(family)}. A virtual router carries one address family (RFC 9568 §5.2.9); configure the other family in a separate virtual router with its own VRID.");
            return true;
        }

        if (family != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        if (Version == 2)
        {
            // Reported once, at the first address, rather than for every entry.
            if (isFirst)
            {
                errors.Add($"{SectionName}:{nameof(VirtualAddresses)} are IPv6, but {SectionName}:{nameof(Version)} is 2. VRRPv2 (RFC 3768) runs over IPv4 only; set {SectionName}:{nameof(Version)} to 3 for IPv6.");
            }

            return true;
        }

        if (isFirst && !address.Address.IsIPv6LinkLocal)
        {
            errors.Add($"{key} '{text}' is the first IPv6 virtual address but not a link-local one. RFC 9568 §5.2.9 requires the virtual router's link-local address first; add one such as fe80::1:{VirtualRouterId:x}/64 at the start of the list, the same on every node.");
            return true;
        }

        return false;
    }

    private static string Describe(AddressFamily? family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    /// <summary>Returns the family of the first parsable virtual address, which decides the router's family; null when there is none.</summary>
    internal AddressFamily? GetAddressFamily()
    {
        foreach (var text in VirtualAddresses ?? [])
        {
            if (VirtualAddress.TryParse(text, out var address, out _))
            {
                return address.Address.AddressFamily;
            }
        }

        return null;
    }

    /// <summary>
    /// Returns the names of the network interfaces in this process's network namespace, or null when the system
    /// cannot list them. In that case the speaker reports a missing interface when it starts.
    /// </summary>
    internal static IReadOnlyCollection<string>? ListInterfaceNames()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces().Select(n => n.Name).ToArray();
        }
        catch (NetworkInformationException)
        {
            return null;
        }
    }

    /// <summary>The protocol version as the packet layer names it. Call only after <see cref="Validate"/> returned no errors.</summary>
    internal VrrpVersion ParseVersion() => (VrrpVersion)Version;

    /// <summary>Returns the parsed checksum mode. Call only after <see cref="Validate"/> returned no errors.</summary>
    internal VrrpChecksumMode ParseChecksumMode() => Enum.Parse<VrrpChecksumMode>(ChecksumMode, ignoreCase: true);

    /// <summary>Returns the parsed unicast peers, empty in multicast mode. Call only after <see cref="Validate"/> returned no errors.</summary>
    internal IReadOnlyList<IPAddress> ParseUnicastPeers() => (UnicastPeers ?? []).Select(IPAddress.Parse).ToList();

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
