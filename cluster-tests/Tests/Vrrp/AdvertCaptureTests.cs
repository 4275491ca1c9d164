using System.Text.RegularExpressions;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Vrrp;

/// <summary>Adverts of the master as captured on the lab bridge and decoded by tshark.</summary>
public sealed partial class AdvertCaptureTests(ITestOutputHelper output)
{
    private const int CaptureCount = 3;

    [Fact(Timeout = 240_000)]
    public async Task MasterAdvert_IsValidVrrpV3()
    {
        await LabGate.RequireAsync(LabRequirements.Cluster | LabRequirements.Capture);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var logger = new TestOutputLogger(output, TimeProvider.System);

        string decoded;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            await lab.StartAllAsync(cancellationToken);
            string capture = Path.Combine(lab.RunDirectory, "adverts.pcap");

            // -Z root keeps tcpdump from switching to its own user, which could not write into the
            // owner-only run directory. -U writes each packet at once, so a killed tcpdump still leaves them.
            LabProcess tcpdump = lab.StartProcess(
                "tcpdump",
                lab.Topology.BridgeNamespace,
                "tcpdump",
                ["-i", lab.Topology.BridgeName, "-n", "-U", "-Z", "root", "-c", CaptureCount.ToString(), "-w", capture, "ip proto 112"]);

            // At one advert per second three arrive in about 3 s, and 17 s more ends the wait on a silent master.
            TimeSpan advertInterval = lab.Options.Nodes.AdvertisementInterval;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter((advertInterval * CaptureCount) + TimeSpan.FromSeconds(17));
                try
                {
                    await tcpdump.WaitForExitAsync(deadline.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Assert.Fail($"tcpdump captured fewer than {CaptureCount} VRRP packets in time.{Environment.NewLine}{lab.DescribeProcesses()}");
                }
            }

            Assert.True(tcpdump.ExitCode == 0, tcpdump.Describe());

            // tshark 4.0 checks the VRRPv3 checksum over the IPv4 pseudo-header (RFC 5798 §5.2.8)
            // unless vrrp.v3_checksum_as_in_v2 is TRUE. The option is pinned so that a changed
            // default cannot hide a bad checksum.
            CommandResult tshark = await CommandRunner.RunCheckedAsync(
                "tshark",
                ["-r", capture, "-V", "-o", "vrrp.v3_checksum_as_in_v2:FALSE"],
                TimeSpan.FromSeconds(30),
                cancellationToken);
            decoded = tshark.StandardOutput;
        }

        output.WriteLine(decoded);
        string[] packets = FrameHeader().Split(decoded).Where(packet => packet.Contains("Virtual Router Redundancy Protocol")).ToArray();
        Assert.Equal(CaptureCount, packets.Length);
        foreach (string packet in packets)
        {
            Assert.Contains("Protocol: VRRP (112)", packet);
            Assert.Contains("Time to Live: 255", packet);
            Assert.Contains("Destination Address: 224.0.0.18", packet);
            Assert.Contains("Source Address: 198.51.100.11", packet);
            Assert.Contains("VRRP protocol version: 3", packet);
            Assert.Contains("VRRP packet type: Advertisement (1)", packet);
            Assert.Contains("Virtual Rtr ID: 51", packet);
            Assert.Contains("Priority: 150", packet);
            Assert.Contains("Adver Int: 100", packet);
            Assert.Contains("IP Address: 198.51.100.100", packet);
            Assert.Matches(@"Checksum: 0x[0-9a-f]{4} \[correct\]", packet);
            Assert.Contains("[Checksum Status: Good]", packet);
        }

        Assert.Empty(lab.TeardownProblems);
        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }

    [GeneratedRegex(@"^Frame \d+:", RegexOptions.Multiline)]
    private static partial Regex FrameHeader();
}
