using System.Text.Json.Nodes;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Interop;
using Tandem.ClusterTests.Lab.Nodes;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// A tandem node and Debian's keepalived 2.2.7 as the two routers of one virtual router, over VRRPv3 and VRRPv2,
/// by multicast and by unicast. Each case checks that either side takes over from the other after a crash, and
/// that our node preempts keepalived when it returns with the higher priority.
/// </summary>
public sealed class KeepalivedInteropTests(KeepalivedInteropFixture fixture, ITestOutputHelper output)
    : IClassFixture<KeepalivedInteropFixture>
{
    private const string Password = "tandem1";

    [Theory(Timeout = 180_000)]
    [InlineData(3, false, 61)]
    [InlineData(3, true, 62)]
    [InlineData(2, false, 63)]
    [InlineData(2, true, 64)]
    public async Task Keepalived_TakeoverBothWays(int version, bool unicast, byte vrid)
    {
        await KeepalivedInteropRun.RequirePrerequisitesAsync();
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
            return RunTakeoverMatrixAsync(StartNode, _ => Task.CompletedTask, _ => Task.CompletedTask, output, cancellationToken);
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
