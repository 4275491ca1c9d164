using System.Net;

namespace Tandem.Node.Forwarding;

/// <summary>The networks from <c>Proxy:TrustedProxies</c> whose forwarded headers the node keeps.</summary>
internal sealed class TrustedProxyList(IReadOnlyList<IPNetwork> networks)
{
    public static TrustedProxyList Empty { get; } = new([]);

    public IReadOnlyList<IPNetwork> Networks { get; } = networks;

    /// <summary>True when <paramref name="peer"/> is inside one of the networks. A missing address is never trusted.</summary>
    public bool Contains(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        // A dual-mode listener reports IPv4 clients as ::ffff:a.b.c.d, so compare them as IPv4.
        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        foreach (var network in Networks)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }
}
