using System.Net;
using Tandem.Vrrp.Addresses;

namespace Tandem.Vrrp.Tests.Addresses;

public sealed class IpCommandArgumentsTests
{
    [Fact]
    public void AddIpv6_UsesNodad()
    {
        var arguments = IpCommandAddressConfigurator.BuildAddArguments("eth0", new VirtualAddress(IPAddress.Parse("2001:db8::100"), 64));

        Assert.Equal(["-6", "addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"], arguments);
    }

    [Fact]
    public void AddIpv4_NoNodad()
    {
        var arguments = IpCommandAddressConfigurator.BuildAddArguments("eth0", new VirtualAddress(IPAddress.Parse("198.51.100.100"), 24));

        Assert.Equal(["-4", "addr", "add", "198.51.100.100/24", "dev", "eth0"], arguments);
    }
}
