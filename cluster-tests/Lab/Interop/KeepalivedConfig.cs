using System.Net;
using System.Text;

namespace Tandem.ClusterTests.Lab.Interop;

/// <summary>The settings of one keepalived VRRP instance that the interoperability tests run against a tandem node.</summary>
/// <param name="Version">VRRP version, 2 or 3 (<c>vrrp_version</c>).</param>
/// <param name="VirtualRouterId">VRID, the same as the tandem node's.</param>
/// <param name="Priority">keepalived's priority, 1 to 254.</param>
/// <param name="Interface">The interface inside keepalived's namespace.</param>
/// <param name="VirtualAddress">The virtual address with its prefix length, for example <c>198.51.100.100/24</c>.</param>
/// <param name="UnicastSource">keepalived's own address in unicast mode; null for multicast.</param>
/// <param name="UnicastPeers">The tandem node's address in unicast mode; empty for multicast.</param>
/// <param name="Password">VRRPv2 simple text password (<c>auth_type PASS</c>); null for none.</param>
public sealed record KeepalivedConfig(
    int Version,
    byte VirtualRouterId,
    byte Priority,
    string Interface,
    string VirtualAddress,
    IPAddress? UnicastSource,
    IReadOnlyList<IPAddress> UnicastPeers,
    string? Password)
{
    /// <summary>Advertisement interval in seconds (<c>advert_int</c>); the tests use 1 s to stay fast.</summary>
    public int AdvertisementIntervalSeconds { get; init; } = 1;

    /// <summary>Whether keepalived stays backup for a lower-priority master (<c>nopreempt</c>).</summary>
    public bool NoPreempt { get; init; }

    /// <summary>Virtual addresses listed after <see cref="VirtualAddress"/>, for example the global address of an IPv6 router.</summary>
    public IReadOnlyList<string> MoreVirtualAddresses { get; init; } = [];

    /// <summary>
    /// The TTL or hop limit of unicast adverts (<c>unicast_ttl</c>); null keeps keepalived's default. keepalived 2.2.7
    /// builds IPv4 headers itself with TTL 255, but leaves the IPv6 hop limit of unicast adverts to the kernel
    /// default of 64, which RFC 9568 §7.1 receivers discard.
    /// </summary>
    public int? UnicastTtl { get; init; }

    /// <summary>Renders the keepalived.conf(5) text of this instance.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("global_defs {");
        text.AppendLine($"    router_id tandem-interop-{VirtualRouterId}");
        text.AppendLine($"    vrrp_version {Version}");
        text.AppendLine("}");
        text.AppendLine("vrrp_instance VI_TANDEM {");

        // Every instance starts as BACKUP and wins by priority, like the tandem node.
        text.AppendLine("    state BACKUP");
        if (NoPreempt)
        {
            // keepalived.conf(5) of 2.2.7: nopreempt works only with the initial state BACKUP, which every instance here has.
            text.AppendLine("    nopreempt");
        }

        text.AppendLine($"    interface {Interface}");
        text.AppendLine($"    virtual_router_id {VirtualRouterId}");
        text.AppendLine($"    priority {Priority}");
        text.AppendLine($"    advert_int {AdvertisementIntervalSeconds}");
        if (UnicastSource is not null)
        {
            text.AppendLine($"    unicast_src_ip {UnicastSource}");
            text.AppendLine("    unicast_peer {");
            foreach (IPAddress peer in UnicastPeers)
            {
                text.AppendLine($"        {peer}");
            }

            text.AppendLine("    }");
            if (UnicastTtl is { } ttl)
            {
                text.AppendLine($"    unicast_ttl {ttl}");
            }
        }

        if (Password is not null)
        {
            text.AppendLine("    authentication {");
            text.AppendLine("        auth_type PASS");
            text.AppendLine($"        auth_pass {Password}");
            text.AppendLine("    }");
        }

        text.AppendLine("    virtual_ipaddress {");
        text.AppendLine($"        {VirtualAddress}");
        foreach (string address in MoreVirtualAddresses)
        {
            text.AppendLine($"        {address}");
        }
        text.AppendLine("    }");
        text.AppendLine("}");
        return text.ToString();
    }
}
