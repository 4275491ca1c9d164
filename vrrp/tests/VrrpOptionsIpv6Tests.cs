using System.Net.Sockets;

namespace Tandem.Vrrp.Tests;

public sealed class VrrpOptionsIpv6Tests
{
    private static VrrpOptions Valid() => new()
    {
        Interface = "lo",
        VirtualRouterId = 51,
        Priority = 150,
        VirtualAddresses = ["fe80::1:33/64", "2001:db8::100/64"],
    };

    [Fact]
    public void Ipv6Router_Valid()
    {
        var options = Valid();

        Assert.Empty(options.Validate());
        Assert.Equal(AddressFamily.InterNetworkV6, options.GetAddressFamily());
    }

    [Fact]
    public void Ipv4Router_FamilyIsIpv4()
    {
        var options = Valid();
        options.VirtualAddresses = ["198.51.100.100/24"];

        Assert.Equal(AddressFamily.InterNetwork, options.GetAddressFamily());
    }

    [Fact]
    public void FirstNotLinkLocal_Rejected()
    {
        var options = Valid();
        options.VirtualAddresses = ["2001:db8::100/64", "fe80::1:33/64"];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:VirtualAddresses:0 '2001:db8::100/64' is the first IPv6 virtual address but not a link-local one", error, StringComparison.Ordinal);
        Assert.Contains("RFC 9568 §5.2.9", error, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstUnparsable_NextIsFirst()
    {
        // The first entry that parses decides the family and must be the link-local one.
        var options = Valid();
        options.VirtualAddresses = ["fe80::zz/64", "fe80::1:33/64"];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:VirtualAddresses:0 'fe80::zz/64' is invalid", error, StringComparison.Ordinal);
    }

    [Fact]
    public void MixedFamilies_Rejected()
    {
        var options = Valid();
        options.VirtualAddresses = ["fe80::1:33/64", "198.51.100.100/24"];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:VirtualAddresses:1 '198.51.100.100/24' is IPv4, but the first virtual address is IPv6", error, StringComparison.Ordinal);
        Assert.Contains("separate virtual router", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Version2WithIpv6_OneError()
    {
        var options = Valid();
        options.Version = 2;

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:VirtualAddresses are IPv6, but Vrrp:Version is 2", error, StringComparison.Ordinal);
        Assert.Contains("set Vrrp:Version to 3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void MessageOnlyChecksum_Rejected()
    {
        var options = Valid();
        options.ChecksumMode = "MessageOnly";

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:ChecksumMode is MessageOnly, but the virtual addresses are IPv6", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ZoneInAddress_Rejected()
    {
        var options = Valid();
        options.VirtualAddresses = ["fe80::1:33%lo/64"];

        var error = Assert.Single(options.Validate());

        Assert.Contains("has a zone", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnicastPeerLinkLocal_Valid()
    {
        var options = Valid();
        options.UnicastPeers = ["fe80::12", "fe80::13"];

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("2001:db8::12", "is not a link-local address")]
    [InlineData("ff02::12", "is not a unicast address")]
    [InlineData("::1", "is not a unicast address")]
    [InlineData("198.51.100.12", "is an IPv4 address, but the virtual addresses are IPv6")]
    [InlineData("fe80::12%lo", "is not an IP address")]
    [InlineData("fe80::11", "repeats an earlier entry")]
    public void UnicastPeer_Invalid_NamesIndexAndValue(string peer, string expected)
    {
        var options = Valid();
        options.UnicastPeers = ["fe80::11", peer];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith($"Vrrp:UnicastPeers:1 '{peer}' {expected}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void RouterFlag_OffByDefault()
    {
        Assert.False(new VrrpOptions().NeighborAdvertisementRouterFlag);
    }
}
