using System.Net;
using System.Net.NetworkInformation;
using Tandem.Vrrp.Arp;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Arp;

public sealed class GratuitousArpFrameTests
{
    [Fact]
    public void BuildFrame_ArpAnnouncement_MatchesLayout()
    {
        var mac = PhysicalAddress.Parse("02-00-5E-10-00-01");

        var frame = PcapGratuitousArpSender.BuildFrame(IPAddress.Parse("198.51.100.100"), mac);

        var expected =
            "ffffffffffff" + "02005e100001" + "0806" + // Ethernet: broadcast, our MAC, ARP.
            "0001" + "0800" + "06" + "04" + "0001" +     // Ethernet/IPv4, request.
            "02005e100001" + "c6336464" +                // Sender: our MAC, the virtual address.
            "000000000000" + "c6336464";                 // Target: zero MAC, the virtual address again.
        Assert.Equal(expected, Hex.Of(frame));
    }
}
