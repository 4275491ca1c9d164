using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Monitoring.V1;
using Tandem.Node.Configuration;
using Tandem.Node.Control;
using Tandem.Node.Hosting;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Control;

/// <summary>
/// Runs the node in process on 127.0.0.1 with VRRP off and calls NodeControl over plain-text HTTP/2. With VRRP off a
/// call that passes authentication fails in the service itself with FAILED_PRECONDITION naming Vrrp:Interface, which
/// tells it apart from a call that authentication rejected.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeControlEndToEndTests : IAsyncLifetime
{
    private const string Token = "c0ffee0123456789c0ffee0123456789";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly TestCertificate _certificate = TestCertificate.Create("CN=tandem-control-test");
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-control-").FullName;
    private TestBackend _backend = null!;
    private WebApplication? _node;
    private GrpcChannel? _channel;
    private int _proxyPort;
    private int _managementPort;

    public async ValueTask InitializeAsync()
    {
        _backend = await TestBackend.StartAsync("b1");
        _proxyPort = GetFreePort();
        _managementPort = GetFreePort();
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_node is not null)
        {
            await _node.StopAsync(CancellationToken.None);
            await _node.DisposeAsync();
        }

        await _backend.DisposeAsync();
        _certificate.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Switchover_NoTokenConfigured_FailedPrecondition()
    {
        await StartNodeAsync(tokenFile: null);

        var exception = await Assert.ThrowsAsync<RpcException>(() => SwitchoverAsync(Token));

        Assert.Equal(StatusCode.FailedPrecondition, exception.StatusCode);
        Assert.Contains("Management:ControlTokenFile is not set", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_NoCredentials_Unauthenticated()
    {
        await StartNodeAsync(WriteTokenFile());

        var exception = await Assert.ThrowsAsync<RpcException>(() => SwitchoverAsync(token: null));

        Assert.Equal(StatusCode.Unauthenticated, exception.StatusCode);
        Assert.Contains("no bearer token", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_WrongToken_Unauthenticated()
    {
        await StartNodeAsync(WriteTokenFile());

        var exception = await Assert.ThrowsAsync<RpcException>(() => SwitchoverAsync(Token.ToUpperInvariant()));

        Assert.Equal(StatusCode.Unauthenticated, exception.StatusCode);
        Assert.Contains("does not match", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_RightToken_ReachesService()
    {
        await StartNodeAsync(WriteTokenFile());

        var exception = await Assert.ThrowsAsync<RpcException>(() => SwitchoverAsync(Token));

        Assert.Equal(StatusCode.FailedPrecondition, exception.StatusCode);
        Assert.Contains("VRRP is off", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetMaintenance_RightToken_ReachesService()
    {
        await StartNodeAsync(WriteTokenFile());

        var exception = await Assert.ThrowsAsync<RpcException>(async () => await CreateClient().SetMaintenanceAsync(
            new SetMaintenanceRequest { Enabled = true }, Headers(Token), Deadline(), TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.FailedPrecondition, exception.StatusCode);
        Assert.Contains("VRRP is off", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switchover_OutsideAllowedNetworks_PermissionDenied()
    {
        await StartNodeAsync(WriteTokenFile(), allowedNetwork: "198.51.100.0/24");

        var exception = await Assert.ThrowsAsync<RpcException>(() => SwitchoverAsync(Token));

        Assert.Equal(StatusCode.PermissionDenied, exception.StatusCode);
    }

    [Fact]
    public async Task Health_NodeControlWithoutVrrp_NotServing()
    {
        await StartNodeAsync(WriteTokenFile());

        var response = await new Health.HealthClient(_channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{_managementPort}")).CheckAsync(
            new HealthCheckRequest { Service = ControlServiceCollectionExtensions.NodeControlServiceName },
            deadline: Deadline(),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, response.Status);
    }

    [Fact]
    public async Task Health_NodeControlWithoutToken_NotFound()
    {
        await StartNodeAsync(tokenFile: null);
        var client = new Health.HealthClient(_channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{_managementPort}"));

        var exception = await Assert.ThrowsAsync<RpcException>(async () => await client.CheckAsync(
            new HealthCheckRequest { Service = ControlServiceCollectionExtensions.NodeControlServiceName },
            deadline: Deadline(),
            cancellationToken: TestContext.Current.CancellationToken));
        var node = await client.CheckAsync(new HealthCheckRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(StatusCode.NotFound, exception.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, node.Status);
    }

    [Fact]
    public async Task Startup_TokenReadableByOthers_Fails()
    {
        var path = WriteTokenFile(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var exception = await Assert.ThrowsAsync<InvalidNodeConfigurationException>(() => StartNodeAsync(path));

        Assert.Contains(exception.Errors, error => error.StartsWith("Management:ControlTokenFile:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Drain_ClosesIdleAndNewConnections()
    {
        await StartNodeAsync(tokenFile: null);
        var drain = _node!.Services.GetRequiredService<ProxyConnectionDrain>();
        using var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{_proxyPort}/"), Timeout = CallTimeout };

        using (var first = await client.GetAsync("/", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.False(first.Headers.ConnectionClose ?? false);
        }

        Assert.Equal(1, drain.OpenConnections);
        Assert.Equal(1, drain.Begin());
        try
        {
            // The idle keep-alive connection closes at once.
            await WaitForNoConnectionsAsync(drain);

            // A connection opened while draining serves one request and closes.
            using var second = await client.GetAsync("/", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.True(second.Headers.ConnectionClose);
            await WaitForNoConnectionsAsync(drain);
        }
        finally
        {
            drain.End();
        }

        Assert.Equal(0, drain.RequestsInFlight);
    }

    private static async Task WaitForNoConnectionsAsync(ProxyConnectionDrain drain)
    {
        // Bounded by the test's own timeout.
        while (drain.OpenConnections > 0)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    private string WriteTokenFile(UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_directory, "control.token");
        File.WriteAllText(path, Token + "\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private async Task StartNodeAsync(string? tokenFile, string allowedNetwork = "127.0.0.0/8")
    {
        var configuration = new NodeConfiguration(_certificate, _proxyPort, _backend.Address)
            .Set("Management:Port", _managementPort.ToString(CultureInfo.InvariantCulture))
            .Set("Management:AllowedNetworks:0", allowedNetwork)
            .Set("Management:ControlTokenFile", tokenFile ?? "");

        _node = await NodeApplication.CreateAsync(configuration.AddTo);
        await _node.StartAsync(TestContext.Current.CancellationToken);
    }

    private NodeControl.NodeControlClient CreateClient() =>
        new(_channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{_managementPort}"));

    private async Task SwitchoverAsync(string? token) =>
        await CreateClient().SwitchoverAsync(new SwitchoverRequest(), Headers(token), Deadline(), TestContext.Current.CancellationToken);

    private static Metadata Headers(string? token) => token is null ? [] : new Metadata { { "authorization", $"Bearer {token}" } };

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
