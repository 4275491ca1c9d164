using System.Net;
using Tandem.Node.Forwarding;

namespace Tandem.Node.Tests.Forwarding;

public sealed class TrustedProxyListTests
{
    private static readonly TrustedProxyList List = new(
        [IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("198.51.100.7/32"), IPNetwork.Parse("2001:db8::/32")]);

    [Theory]
    [InlineData("203.0.113.1", true)]
    [InlineData("203.0.113.255", true)]
    [InlineData("203.0.114.1", false)]
    [InlineData("198.51.100.7", true)]
    [InlineData("198.51.100.8", false)]
    [InlineData("::ffff:203.0.113.9", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("2001:db9::1", false)]
    [InlineData("127.0.0.1", false)]
    public void Contains_Peer_MatchesNetworks(string peer, bool expected)
    {
        Assert.Equal(expected, List.Contains(IPAddress.Parse(peer)));
    }

    [Fact]
    public void Contains_NoPeerAddress_IsFalse()
    {
        Assert.False(List.Contains(null));
    }
}
