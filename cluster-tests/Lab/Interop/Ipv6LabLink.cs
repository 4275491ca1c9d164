using System.Net;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Interop;

/// <summary>
/// Turns on IPv6 on <c>eth0</c> of a lab host, which the lab creates with IPv6 off, and reads its IPv6 addresses.
/// Only the lab's own namespaces are changed, and only with link-local and 2001:db8::/32 (RFC 3849) addresses.
/// </summary>
public static class Ipv6LabLink
{
    /// <summary>
    /// Enables IPv6 on <c>eth0</c> without the kernel's generated link-local address (addr_gen_mode 1) and router
    /// advertisements, then adds <paramref name="linkLocal"/>/64 without Duplicate Address Detection. A fixed
    /// link-local address lets the tests name the unicast peers and the expected advert source.
    /// </summary>
    public static async Task EnableAsync(LabHost host, IPAddress linkLocal, CancellationToken cancellationToken)
    {
        if ((await ListAddressesAsync(host, cancellationToken)).ContainsKey(linkLocal))
        {
            return;
        }

        await CommandRunner.RunCheckedAsync(
            "ip",
            ["netns", "exec", host.Namespace, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.addr_gen_mode=1", "net.ipv6.conf.eth0.accept_ra=0", "net.ipv6.conf.eth0.disable_ipv6=0"],
            cancellationToken: cancellationToken);
        await CommandRunner.RunCheckedAsync("ip", ["-n", host.Namespace, "-6", "addr", "add", $"{linkLocal}/64", "dev", "eth0", "nodad"], cancellationToken: cancellationToken);
    }

    /// <summary>Returns the IPv6 addresses of <c>eth0</c>, each with the rest of its <c>ip -o</c> line (flags such as nodad or tentative).</summary>
    public static async Task<IReadOnlyDictionary<IPAddress, string>> ListAddressesAsync(LabHost host, CancellationToken cancellationToken)
    {
        CommandResult result = await CommandRunner.RunCheckedAsync("ip", ["-n", host.Namespace, "-6", "-o", "addr", "show", "dev", "eth0"], cancellationToken: cancellationToken);
        return ParseAddresses(result.StandardOutput);
    }

    /// <summary>Parses <c>ip -6 -o addr</c> lines such as "2: eth0    inet6 fe80::a/64 scope link nodad \ valid_lft forever ...".</summary>
    internal static IReadOnlyDictionary<IPAddress, string> ParseAddresses(string ipAddrOutput)
    {
        var addresses = new Dictionary<IPAddress, string>();
        foreach (string line in ipAddrOutput.Split('\n'))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int inet6 = Array.IndexOf(fields, "inet6");
            if (inet6 >= 0 && inet6 + 1 < fields.Length && IPAddress.TryParse(fields[inet6 + 1].Split('/')[0], out IPAddress? address))
            {
                addresses[address] = line;
            }
        }

        return addresses;
    }
}
