using System.Net;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Packets;

public sealed class InternetChecksumTests
{
    [Fact]
    public void Compute_FourWords_Returns220d()
    {
        // 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0, which folds to 0xddf2; the checksum is its complement.
        var data = Hex.Bytes("0001f203f4f5f6f7");

        Assert.Equal(0x220d, InternetChecksum.Compute(data));
    }

    [Fact]
    public void Compute_OddLength_PadsWithZero()
    {
        Assert.Equal(InternetChecksum.Compute(Hex.Bytes("abcd12 00")), InternetChecksum.Compute(Hex.Bytes("abcd12")));
    }

    [Fact]
    public void ComputeVrrpIpv4_MatchesHandSum()
    {
        // Pseudo-header c633 640b e000 0012 0070 000c plus message words 3101 6401 0064 0000 c633 6464
        // sums to 0x3cac9, folds to 0xcacc, and complements to 0x3533.
        var message = Hex.Bytes("310164010064 0000 c6336464");

        var checksum = InternetChecksum.ComputeVrrpIpv4(IPAddress.Parse("198.51.100.11"), IPAddress.Parse("224.0.0.18"), message);

        Assert.Equal(0x3533, checksum);
    }

    [Fact]
    public void ComputeVrrpIpv4_IgnoresChecksumField()
    {
        var zeroed = Hex.Bytes("310164010064 0000 c6336464");
        var filled = Hex.Bytes("310164010064 3533 c6336464");
        var source = IPAddress.Parse("198.51.100.11");

        Assert.Equal(
            InternetChecksum.ComputeVrrpIpv4(source, Datagrams.Group, zeroed),
            InternetChecksum.ComputeVrrpIpv4(source, Datagrams.Group, filled));
    }

    [Fact]
    public void ComputeVrrpIpv4_IPv6Source_Throws()
    {
        var message = Hex.Bytes("310164010064 0000 c6336464");

        Assert.Throws<ArgumentException>(() => InternetChecksum.ComputeVrrpIpv4(IPAddress.IPv6Loopback, Datagrams.Group, message));
    }
}
