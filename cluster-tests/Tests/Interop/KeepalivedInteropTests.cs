using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 as the two routers of one virtual router, over VRRPv3 and VRRPv2,
/// by multicast and by unicast. Each case checks that either side takes over from the other after a crash, and
/// that our node preempts keepalived when it returns with the higher priority, and that tshark decodes our adverts
/// with a correct checksum.
/// </summary>
public sealed class KeepalivedInteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    private const string Password = "tandem1";

    /// <summary>Our adverts to capture; three arrive in about 3 s.</summary>
    private const int CapturedAdverts = 3;

    [Theory(Timeout = 180_000)]
    [InlineData(3, false, 61)]
    [InlineData(3, true, 62)]
    [InlineData(2, false, 63)]
    [InlineData(2, true, 64)]
    public async Task Keepalived_TakeoverBothWays(int version, bool unicast, byte vrid)
    {
        await KeepalivedInteropRun.RequirePrerequisitesAsync(LabRequirements.Capture);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await fixture.GetLabAsync(new TestOutputLogger(output, TimeProvider.System), cancellationToken);
        var run = new InteropCase(lab, version, unicast, vrid);
        try
        {
            await run.ExecuteAsync(output, cancellationToken);
        }
        finally
        {
            await run.CleanUpAsync();
        }
    }

    /// <summary>One case of the matrix over IPv4, with the version and mode that keepalived and our node share.</summary>
    private sealed class InteropCase(ClusterLab lab, int version, bool unicast, byte vrid)
        : KeepalivedInteropRun(lab, $"v{version}-{(unicast ? "unicast" : "multicast")}")
    {
        public Task ExecuteAsync(ITestOutputHelper output, CancellationToken cancellationToken)
        {
            StartKeepalived(new KeepalivedConfig(
                version,
                vrid,
                KeepalivedPriority,
                "eth0",
                Ipv4VirtualAddress,
                unicast ? Theirs.Address : null,
                unicast ? [Ours.Address] : [],
                version == 2 ? Password : null));

            // The capture starts before our node, so that it contains the first adverts after our node's takeover.
            var capture = StartCapture($"ip proto 112 and src host {Ours.Address}", CapturedAdverts);
            return RunTakeoverMatrixAsync(
                StartNode,
                _ => Task.CompletedTask,
                token => CheckCaptureAsync(capture, output, token),
                output,
                cancellationToken);
        }

        /// <summary>Checks tshark's decoding of our adverts: version, TTL, destination, password and a correct checksum.</summary>
        private async Task CheckCaptureAsync((LabProcess Tcpdump, string File) capture, ITestOutputHelper output, CancellationToken cancellationToken)
        {
            string[] adverts = await ReadCaptureAsync(capture, $"{CapturedAdverts} adverts", cancellationToken);
            output.WriteLine(adverts.FirstOrDefault() ?? "");

            Assert.Equal(CapturedAdverts, adverts.Length);
            string destination = unicast ? Theirs.Address.ToString() : "224.0.0.18";
            foreach (string advert in adverts)
            {
                Assert.Contains("Time to Live: 255", advert, StringComparison.Ordinal);
                Assert.Contains($"Destination Address: {destination}", advert, StringComparison.Ordinal);
                Assert.Contains($"VRRP protocol version: {version}", advert, StringComparison.Ordinal);
                Assert.Contains($"Virtual Rtr ID: {vrid}", advert, StringComparison.Ordinal);
                Assert.Contains($"Priority: {HighPriority}", advert, StringComparison.Ordinal);
                Assert.Contains($"IP Address: {LabTopology.VirtualAddress}", advert, StringComparison.Ordinal);
                if (version == 2)
                {
                    Assert.Contains("Auth Type: Simple Text Authentication", advert, StringComparison.Ordinal);
                    Assert.Contains($"Authentication String: {Password}", advert, StringComparison.Ordinal);
                }

                AssertCleanAdvert(advert);
            }
        }

        /// <summary>Starts our node with the lab's node config and the VRRP settings of this case added.</summary>
        private void StartNode(string role, byte priority, int start) =>
            StartNode(role, start, priority, new NodeSettings { VirtualRouterId = vrid }, config =>
            {
                JsonObject vrrp = config["Vrrp"]!.AsObject();
                vrrp["Version"] = version;
                if (unicast)
                {
                    vrrp["UnicastPeers"] = new JsonArray(Theirs.Address.ToString());
                }

                if (version == 2)
                {
                    vrrp["AuthenticationPassword"] = Password;
                }
            });
    }
}
