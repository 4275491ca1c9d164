using System.Globalization;
using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

public sealed class ControlCommandsTests : IDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private readonly StringWriter _output = new(CultureInfo.InvariantCulture);
    private readonly StringWriter _error = new(CultureInfo.InvariantCulture);
    private readonly string _tokenFile = Path.Combine(Directory.CreateTempSubdirectory("tandemctl-").FullName, "control.token");

    public ControlCommandsTests() => File.WriteAllText(_tokenFile, Token + "\n");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_tokenFile)!, recursive: true);

    private Task<int> RunAsync(FakeNodeControlClient client, params string[] args) =>
        new TandemCtl(_ => throw new InvalidOperationException("no monitor call expected"), _output, _error, _ => client)
            .RunAsync(args, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Switchover_SendsTokenAndReportsNewMaster()
    {
        var client = new FakeNodeControlClient();

        var exitCode = await RunAsync(client, "switchover", "--node", "198.51.100.11:9901", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.Success, exitCode);
        var (request, headers) = Assert.Single(client.Calls);
        Assert.IsType<SwitchoverRequest>(request);
        Assert.Equal($"Bearer {Token}", headers.GetValue("authorization"));
        Assert.Equal(
            "198.51.100.11:9901: handed over to 198.51.100.12 in 612 ms; 3 proxy connections were drained" + Environment.NewLine,
            _output.ToString());
        Assert.Equal("", _error.ToString());
    }

    [Fact]
    public async Task Switchover_RouterNameSentAndShown()
    {
        var client = new FakeNodeControlClient
        {
            SwitchoverResponse = new SwitchoverResponse
            {
                NewMaster = "198.51.100.12",
                Elapsed = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(612)),
                Routers = { "web" },
            },
        };

        var exitCode = await RunAsync(client, "switchover", "--router", "web", "--node", "198.51.100.11:9901", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.Success, exitCode);
        var (request, _) = Assert.Single(client.Calls);
        Assert.Equal("web", Assert.IsType<SwitchoverRequest>(request).Router);
        Assert.Equal(
            "198.51.100.11:9901: handed over router web to 198.51.100.12 in 612 ms; 0 proxy connections were drained" + Environment.NewLine,
            _output.ToString());
    }

    [Fact]
    public async Task Switchover_WithoutRouterSendsEmptyName()
    {
        var client = new FakeNodeControlClient();

        await RunAsync(client, "switchover", "--token-file", _tokenFile);

        var (request, _) = Assert.Single(client.Calls);
        Assert.Equal("", Assert.IsType<SwitchoverRequest>(request).Router);
    }

    [Fact]
    public async Task Switchover_UnknownRouterExitsOne()
    {
        var client = new FakeNodeControlClient(new RpcException(new Status(StatusCode.NotFound, "This node has no virtual router named 'cache'.")));

        var exitCode = await RunAsync(client, "switchover", "--router", "cache", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.NodeError, exitCode);
        Assert.Contains("127.0.0.1:9901: not found: This node has no virtual router named 'cache'.", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Maintenance_RouterNameSentAndShown()
    {
        var client = new FakeNodeControlClient
        {
            MaintenanceResponse = new SetMaintenanceResponse { Changed = true, State = VrrpState.Backup, Routers = { "api" } },
        };

        var exitCode = await RunAsync(client, "maintenance", "on", "-r", "api", "--node", "198.51.100.11:9901", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.Success, exitCode);
        var (request, _) = Assert.Single(client.Calls);
        var maintenance = Assert.IsType<SetMaintenanceRequest>(request);
        Assert.True(maintenance.Enabled);
        Assert.Equal("api", maintenance.Router);
        Assert.StartsWith("198.51.100.11:9901: router api entered maintenance; state backup", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_UnauthenticatedExitsOne()
    {
        var client = new FakeNodeControlClient(new RpcException(new Status(StatusCode.Unauthenticated, "The bearer token does not match.")));

        var exitCode = await RunAsync(client, "switchover", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.NodeError, exitCode);
        Assert.Contains("127.0.0.1:9901: not authenticated: The bearer token does not match.", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_OnBackupExitsOne()
    {
        var client = new FakeNodeControlClient(new RpcException(new Status(StatusCode.FailedPrecondition, "This node is Backup, not master.")));

        var exitCode = await RunAsync(client, "switchover", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.NodeError, exitCode);
        Assert.Contains("rejected: This node is Backup, not master.", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_UnavailableExitsThree()
    {
        var client = new FakeNodeControlClient(new RpcException(new Status(StatusCode.Unavailable, "connection refused")));

        var exitCode = await RunAsync(client, "switchover", "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.Unreachable, exitCode);
        Assert.Contains("cannot connect (connection refused)", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_MissingTokenFileExitsTwo()
    {
        var client = new FakeNodeControlClient();
        var missing = _tokenFile + ".absent";

        var exitCode = await RunAsync(client, "switchover", "--token-file", missing);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Empty(client.Calls);
        Assert.Contains($"cannot read the token file '{missing}'", _error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("maintenance")]
    [InlineData("maintenance", "maybe")]
    [InlineData("switchover", "--node", "no-port")]
    [InlineData("switchover", "--timeout", "0")]
    public async Task Control_BadUsageExitsTwo(params string[] args)
    {
        var client = new FakeNodeControlClient();

        var exitCode = await RunAsync(client, [.. args, "--token-file", _tokenFile]);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Empty(client.Calls);
        Assert.NotEqual("", _error.ToString());
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData("off", false)]
    public async Task Maintenance_SendsRequestedMode(string mode, bool enabled)
    {
        var client = new FakeNodeControlClient();

        var exitCode = await RunAsync(client, "maintenance", mode, "--token-file", _tokenFile);

        Assert.Equal(ExitCodes.Success, exitCode);
        var request = Assert.IsType<SetMaintenanceRequest>(Assert.Single(client.Calls).Request);
        Assert.Equal(enabled, request.Enabled);
    }

    [Fact]
    public void FormatEvent_MaintenanceChanged()
    {
        var nodeEvent = new NodeEvent
        {
            Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 4, 23, 0, 0, TimeSpan.Zero)),
            MaintenanceChanged = new MaintenanceChanged { Vrid = 51, Maintenance = true, Reason = "maintenance requested by 198.51.100.50" },
        };

        var line = StatusRenderer.FormatEvent(new NodeEndpoint("198.51.100.12", 9901), nodeEvent);

        Assert.Equal("2026-12-04T23:00:00.000Z vrrp vrid 51: maintenance on (maintenance requested by 198.51.100.50)", line);
    }

    [Fact]
    public void FormatMaintenance_HandedOverNamesNewMaster()
    {
        var response = new SetMaintenanceResponse { Changed = true, HandedOver = true, NewMaster = "198.51.100.12", State = VrrpState.Backup };

        var line = ControlCommands.FormatMaintenance(new NodeEndpoint("198.51.100.11", 9901), enabled: true, response);

        Assert.Equal("198.51.100.11:9901: handed over to 198.51.100.12 and entered maintenance; state backup", line);
    }
}
