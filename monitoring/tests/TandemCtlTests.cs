using System.Globalization;
using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

public sealed class TandemCtlTests
{
    private readonly StringWriter _output = new(CultureInfo.InvariantCulture);
    private readonly StringWriter _error = new(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Status_RespondedExitsZero()
    {
        var exitCode = await RunAsync(_ => new FakeNodeMonitorClient(TestStatuses.Master()), "status", "--node", "198.51.100.11:9901");

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("node-a", _output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", _error.ToString());
    }

    [Fact]
    public async Task Status_PermissionDeniedExitsOne()
    {
        var denied = new RpcException(new Status(StatusCode.PermissionDenied, "not in Management:AllowedNetworks"));

        var exitCode = await RunAsync(_ => new FakeNodeMonitorClient(null, denied), "status");

        Assert.Equal(ExitCodes.NodeError, exitCode);
        Assert.Contains("permission denied: not in Management:AllowedNetworks", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_UnavailableExitsThree()
    {
        var unavailable = new RpcException(new Status(StatusCode.Unavailable, "connection refused"));

        var exitCode = await RunAsync(_ => new FakeNodeMonitorClient(null, unavailable), "status", "--json");

        Assert.Equal(ExitCodes.Unreachable, exitCode);
        Assert.Contains("\"error\"", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("cannot connect (connection refused)", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_WorstNodeDecidesExitCode()
    {
        var unavailable = new RpcException(new Status(StatusCode.DeadlineExceeded, ""));

        var exitCode = await RunAsync(
            endpoint => endpoint.Port == 9901
                ? new FakeNodeMonitorClient(TestStatuses.Master())
                : new FakeNodeMonitorClient(null, unavailable),
            "status", "--node", "198.51.100.11:9901", "--node", "198.51.100.12:9902");

        Assert.Equal(ExitCodes.Unreachable, exitCode);
        Assert.Contains("node-a", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("198.51.100.12:9902: timed out", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_OlderNodeFallsBackToGetStatus()
    {
        var client = new FakeNodeMonitorClient(TestStatuses.Master(), withoutCluster: true);

        var exitCode = await RunAsync(_ => client, "status");

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Equal(1, client.GetStatusCalls);
        Assert.Contains("node-a  live", _output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("VRID 51:", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ShowsPeersFromOneNode()
    {
        var view = new ClusterView { ReportingNode = "node-a", PeersAvailable = true };
        view.Members.Add(new ClusterMember { Status = TestStatuses.Master(), Self = true });
        view.Members.Add(new ClusterMember { Status = TestStatuses.Backup(), Age = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });

        var exitCode = await RunAsync(_ => new FakeNodeMonitorClient(TestStatuses.Master(), cluster: view), "status");

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("node-b  1.0s", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("VRID 51: master node-a", _output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status", "--bogus")]
    [InlineData("status", "--node", "no-port")]
    [InlineData("status", "--node", "::1:9901")]
    [InlineData("status", "--timeout", "0")]
    [InlineData("frobnicate")]
    [InlineData("watch", "--node", "198.51.100.11:9901", "--node", "198.51.100.12:9901")]
    public async Task BadUsage_ExitsTwo(params string[] args)
    {
        var exitCode = await RunAsync(_ => throw new InvalidOperationException("no call expected"), args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.StartsWith("tandemctl: ", _error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:9901", "127.0.0.1", 9901)]
    [InlineData("[::1]:9901", "::1", 9901)]
    [InlineData("node-a.example:1", "node-a.example", 1)]
    public void Endpoint_ParsesHostAndPort(string text, string host, int port)
    {
        Assert.True(NodeEndpoint.TryParse(text, out var endpoint));
        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(text, endpoint.ToString());
    }

    private Task<int> RunAsync(Func<NodeEndpoint, NodeMonitor.NodeMonitorClient> createClient, params string[] args) =>
        new TandemCtl(createClient, _output, _error).RunAsync(args, TestContext.Current.CancellationToken);
}
