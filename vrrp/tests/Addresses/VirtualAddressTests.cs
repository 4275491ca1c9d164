using System.Net;
using Tandem.Vrrp.Addresses;

namespace Tandem.Vrrp.Tests.Addresses;

public sealed class VirtualAddressTests
{
    [Fact]
    public void TryParse_KeepsHostBits()
    {
        Assert.True(VirtualAddress.TryParse("198.51.100.100/24", out var address, out _));

        Assert.Equal(IPAddress.Parse("198.51.100.100"), address.Address);
        Assert.Equal(24, address.PrefixLength);
        Assert.Equal("198.51.100.100/24", address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("198.51.100.100")]
    [InlineData("198.51.100.100/")]
    [InlineData("198.51.100.100/-1")]
    [InlineData("198.51.100.100/+8")]
    [InlineData("/24")]
    [InlineData("0.0.0.0/0")]
    [InlineData("127.0.0.1/8")]
    [InlineData("255.255.255.255/32")]
    public void TryParse_Invalid_ReturnsProblem(string text)
    {
        Assert.False(VirtualAddress.TryParse(text, out _, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }
}
