using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 as the two routers of one VRRPv3 virtual router over IPv6, by
/// multicast to ff02::12 and by unicast between link-local addresses. Each case checks that either side takes over
/// from the other after a crash and that our node preempts keepalived when it returns with the higher priority.
/// tshark decodes our adverts and neighbour advertisements from the bridge with correct checksums.
/// </summary>
public sealed class KeepalivedIpv6InteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    /// <summary>Our adverts to capture; three arrive in about 3 s.</summary>
    private const int CapturedAdverts = 3;

    /// <summary>The neighbour advertisements of one takeover: 5 rounds (the default count) for each of the 2 addresses.</summary>
    private const int CapturedNeighborAdvertisements = 10;

    /// <summary>The fixed link-local addresses of the two routers' eth0, the sources of their adverts.</summary>
    private static readonly IPAddress OurLinkLocal = IPAddress.Parse("fe80::a");
    private static readonly IPAddress TheirLinkLocal = IPAddress.Parse("fe80::b");

    [Theory(Timeout = 180_000)]
    [InlineData(false, 65)]
    [InlineData(true, 66)]
    public async Task Keepalived_Ipv6TakeoverBothWays(bool unicast, byte vrid)
    {
        await KeepalivedInteropRun.RequirePrerequisitesAsync(LabRequirements.Capture);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new Ipv6Case(lab, unicast, vrid, output);
        try
        {
            await run.ExecuteAsync(cancellationToken);
        }
        finally
        {
            await run.CleanUpAsync();
        }
    }

    /// <summary>The steps of one case, with the processes it started so that they can be removed.</summary>
    private sealed class Ipv6Case(ClusterLab lab, bool unicast, byte vrid, ITestOutputHelper output)
        : KeepalivedInteropRun(lab, $"v3-ipv6-{(unicast ? "unicast" : "multicast")}")
    {
        /// <summary>The virtual router's link-local address, first in the list as RFC 9568 §5.2.9 requires.</summary>
        private readonly IPAddress _linkLocalVip = IPAddress.Parse($"fe80::1:{vrid:x}");
        private readonly IPAddress _globalVip = IPAddress.Parse($"2001:db8::{vrid:x}");

        public async Task ExecuteAsync(CancellationToken cancellationToken)
        {
            await Ipv6LabLink.EnableAsync(Ours, OurLinkLocal, cancellationToken);
            await Ipv6LabLink.EnableAsync(Theirs, TheirLinkLocal, cancellationToken);

            var keepalivedConfig = new KeepalivedConfig(
                3,
                vrid,
                KeepalivedPriority,
                "eth0",
                $"{_linkLocalVip}/64",
                unicast ? TheirLinkLocal : null,
                unicast ? [OurLinkLocal] : [],
                null)
            {
                MoreVirtualAddresses = [$"{_globalVip}/64"],

                // Without it keepalived 2.2.7 sends unicast IPv6 adverts with hop limit 64, and our node discards them.
                UnicastTtl = unicast ? 255 : null,
            };
            StartKeepalived(keepalivedConfig);

            // The capture starts before our node so that it captures the neighbour advertisements of the first takeover.
            // Solicited ones (flag 0x40 in the byte after the ICMPv6 checksum) are the kernel's replies to keepalived's
            // neighbour solicitations for our link-local address in unicast mode, so the filter leaves them out.
            string ourMac = await ReadMacAsync(Ours, cancellationToken);
            var capture = StartCapture(
                $"(ip6 proto 112 and src host {OurLinkLocal}) or (ether src {ourMac} and icmp6 and ip6[40] == 136 and ip6[44] & 0x40 == 0)",
                CapturedAdverts + CapturedNeighborAdvertisements);

            await RunTakeoverMatrixAsync(
                StartNode,
                AssertOurAddressesUsableAsync,
                token => CheckCaptureAsync(capture, ourMac, token),
                output,
                cancellationToken);
        }

        /// <summary>Removes the link-local and global virtual addresses that keepalived left behind.</summary>
        protected override async Task RemoveKeepalivedAddressesAsync()
        {
            IReadOnlyDictionary<IPAddress, string> left = await Ipv6LabLink.ListAddressesAsync(Theirs, CancellationToken.None);
            foreach (IPAddress vip in new[] { _linkLocalVip, _globalVip }.Where(left.ContainsKey))
            {
                await CommandRunner.RunCheckedAsync("ip", ["-n", Theirs.Namespace, "-6", "addr", "del", $"{vip}/64", "dev", "eth0"]);
            }
        }

        /// <summary>
        /// Checks that both addresses are on our interface without Duplicate Address Detection, so usable at once:
        /// a tentative address could not be a source and would not reply to neighbour solicitations.
        /// </summary>
        private async Task AssertOurAddressesUsableAsync(CancellationToken cancellationToken)
        {
            IReadOnlyDictionary<IPAddress, string> addresses = await Ipv6LabLink.ListAddressesAsync(Ours, cancellationToken);
            foreach (IPAddress vip in new[] { _linkLocalVip, _globalVip })
            {
                Assert.True(addresses.TryGetValue(vip, out string? line), $"{vip} is missing on our node: {string.Join(" | ", addresses.Values)}");
                Assert.Contains("nodad", line, StringComparison.Ordinal);
                Assert.DoesNotContain("tentative", line, StringComparison.Ordinal);
            }
        }

        /// <summary>Waits for the capture of our adverts and neighbour advertisements and checks tshark's decoding of each.</summary>
        private async Task CheckCaptureAsync((LabProcess Tcpdump, string File) capture, string ourMac, CancellationToken cancellationToken)
        {
            string[] frames = await ReadCaptureAsync(
                capture,
                $"{CapturedAdverts} adverts and {CapturedNeighborAdvertisements} neighbour advertisements",
                cancellationToken);
            string[] adverts = frames.Where(frame => frame.Contains("Virtual Router Redundancy Protocol", StringComparison.Ordinal)).ToArray();
            string[] neighborAdvertisements = frames.Where(frame => frame.Contains("Type: Neighbor Advertisement (136)", StringComparison.Ordinal)).ToArray();
            output.WriteLine(adverts.FirstOrDefault() ?? string.Join(Environment.NewLine, frames));
            output.WriteLine(neighborAdvertisements.FirstOrDefault() ?? "");

            // The first advert and the neighbour advertisements leave at the takeover, so the first 13 frames hold all 10.
            Assert.Equal(CapturedNeighborAdvertisements, neighborAdvertisements.Length);
            Assert.Equal(CapturedAdverts, adverts.Length);
            string destination = unicast ? TheirLinkLocal.ToString() : "ff02::12";
            foreach (string advert in adverts)
            {
                Assert.Contains("Next Header: VRRP (112)", advert, StringComparison.Ordinal);
                Assert.Contains("Hop Limit: 255", advert, StringComparison.Ordinal);
                Assert.Contains($"Source Address: {OurLinkLocal}", advert, StringComparison.Ordinal);
                Assert.Contains($"Destination Address: {destination}", advert, StringComparison.Ordinal);
                Assert.Contains("VRRP protocol version: 3", advert, StringComparison.Ordinal);
                Assert.Contains($"Virtual Rtr ID: {vrid}", advert, StringComparison.Ordinal);
                Assert.Contains($"Priority: {HighPriority}", advert, StringComparison.Ordinal);
                Assert.Matches($@"IPv6 Address: {Regex.Escape(_linkLocalVip.ToString())}\s+IPv6 Address: {Regex.Escape(_globalVip.ToString())}", advert);
                AssertCleanAdvert(advert);
            }

            foreach (string advertisement in neighborAdvertisements)
            {
                Assert.Contains("Destination Address: ff02::1", advertisement, StringComparison.Ordinal);
                Assert.Contains("Hop Limit: 255", advertisement, StringComparison.Ordinal);
                Assert.Contains("Override: Set", advertisement, StringComparison.Ordinal);
                Assert.Contains("Router: Not set", advertisement, StringComparison.Ordinal);
                Assert.Contains("Solicited: Not set", advertisement, StringComparison.Ordinal);
                Assert.Matches($@"Target Address: ({Regex.Escape(_linkLocalVip.ToString())}|{Regex.Escape(_globalVip.ToString())})", advertisement);
                Assert.Contains(ourMac, advertisement, StringComparison.OrdinalIgnoreCase);
                Assert.Matches(@"Checksum: 0x[0-9a-f]{4} \[correct\]", advertisement);
                Assert.DoesNotContain("[Expert Info", advertisement, StringComparison.Ordinal);
            }
        }

        private static async Task<string> ReadMacAsync(LabHost host, CancellationToken cancellationToken)
        {
            CommandResult result = await CommandRunner.RunCheckedAsync("ip", ["netns", "exec", host.Namespace, "cat", "/sys/class/net/eth0/address"], cancellationToken: cancellationToken);
            return result.StandardOutput.Trim();
        }

        /// <summary>Starts our node with the lab's node config and the IPv6 VRRP settings of this case.</summary>
        private void StartNode(string role, byte priority, int start) =>
            StartNode(role, start, priority, new NodeSettings { VirtualRouterId = vrid }, config =>
            {
                JsonObject vrrp = config["Vrrp"]!.AsObject();
                vrrp["Version"] = 3;
                vrrp["VirtualAddresses"] = new JsonArray($"{_linkLocalVip}/64", $"{_globalVip}/64");
                if (unicast)
                {
                    vrrp["UnicastPeers"] = new JsonArray(TheirLinkLocal.ToString());
                }
            });

        protected override async Task<bool> HasOursAsync(CancellationToken cancellationToken) =>
            (await Ipv6LabLink.ListAddressesAsync(Ours, cancellationToken)).ContainsKey(_globalVip);

        protected override async Task<bool> HasTheirsAsync(CancellationToken cancellationToken) =>
            (await Ipv6LabLink.ListAddressesAsync(Theirs, cancellationToken)).ContainsKey(_globalVip);
    }
}
