using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Tests.Proxy;

/// <summary>Requests through the virtual address, checked at the backend.</summary>
public sealed class ProxyPathTests(ITestOutputHelper output)
{
    [Fact(Timeout = 240_000)]
    public async Task ForwardedHeaders_NameRealClient()
    {
        await LabGate.RequireAsync(LabRequirements.Cluster);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var logger = new TestOutputLogger(output, TimeProvider.System);

        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            await lab.StartAllAsync(cancellationToken);

            // The client is no trusted proxy, so the node must replace what it claims.
            var forged = new Dictionary<string, string>
            {
                ["X-Forwarded-For"] = "203.0.113.9",
                ["X-Real-IP"] = "203.0.113.9",
                ["X-Forwarded-Proto"] = "http",
            };
            ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, "/headers", null, cancellationToken, forged);

            Assert.True(result.Succeeded, $"{result.Failure}: {result.Detail}{Environment.NewLine}{lab.DescribeProcesses()}");
            BackendReply reply = result.Reply!;
            output.WriteLine(reply.ToString());
            string client = lab.Topology.Client.Address.ToString();
            Assert.Equal(lab.Topology.NodeA.Address, reply.PeerAddress);
            Assert.Equal(client, reply.XForwardedFor);
            Assert.Equal(client, reply.XRealIp);
            Assert.Equal("https", reply.XForwardedProto);
            Assert.Equal(LabTopology.ServiceHostName, reply.XForwardedHost);
            Assert.NotNull(result.AffinityCookie);
        }

        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }
}
