using System.Net;
using Tandem.Node.Transport;

namespace Tandem.Node.Tests.Transport;

public sealed class FreeBindListenSocketTests
{
    [Fact]
    public void Create_SpecificAddress_SetsFreeBind()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "IP_FREEBIND exists only on Linux.");

        using var socket = FreeBindListenSocket.Create(new IPEndPoint(IPAddress.Loopback, 0));

        Assert.True(FreeBindListenSocket.IsFreeBindSet(socket));
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)socket.LocalEndPoint!).Address);
    }

    [Fact]
    public void Create_Wildcard_UsesKestrelDefault()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "IP_FREEBIND exists only on Linux.");

        using var socket = FreeBindListenSocket.Create(new IPEndPoint(IPAddress.Any, 0));

        Assert.False(FreeBindListenSocket.IsFreeBindSet(socket));
    }

    [Theory]
    [InlineData("0.0.0.0", false)]
    [InlineData("::", false)]
    [InlineData("198.51.100.100", true)]
    [InlineData("2001:db8::100", true)]
    public void NeedsFreeBind_Address_OnlyForSpecificAddresses(string address, bool expected)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "IP_FREEBIND exists only on Linux.");

        Assert.Equal(expected, FreeBindListenSocket.NeedsFreeBind(IPAddress.Parse(address)));
    }
}
