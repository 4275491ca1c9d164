using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Tandem.Monitoring.V1;
using Tandem.Node.Hosting;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Monitoring;

/// <summary>
/// Runs the node in process on 127.0.0.1 with the management listener on a free port, VRRP off and the in-process
/// store, and calls it over plain-text HTTP/2 like grpcurl -plaintext does.
/// </summary>
public sealed class ManagementEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly TestCertificate _certificate = TestCertificate.Create("CN=tandem-monitoring-test");
    private TestBackend _backend = null!;
    private WebApplication? _node;
    private GrpcChannel? _channel;
    private int _proxyPort;
    private int _managementPort;
    private int _metricsPort;

    public async ValueTask InitializeAsync()
    {
        _backend = await TestBackend.StartAsync("b1");
        _proxyPort = GetFreePort();
        _managementPort = GetFreePort();
        _metricsPort = GetFreePort();
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await StopNodeAsync();
        await _backend.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task GetStatus_ReportsNodeProxyStoreAndCertificate()
    {
        await StartNodeAsync();

        var status = await CreateMonitorClient().GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("node-test", status.NodeName);
        Assert.False(string.IsNullOrEmpty(status.Version));
        Assert.True(status.Uptime.ToTimeSpan() >= TimeSpan.Zero);
        Assert.Empty(status.VirtualRouters);
        Assert.Equal($"127.0.0.1:{_proxyPort}", status.Proxy.ListenEndpoint);
        Assert.True(status.Proxy.Listening);
        var cluster = Assert.Single(status.Proxy.Clusters);
        Assert.Equal("backends", cluster.ClusterId);
        var destination = Assert.Single(cluster.Destinations);
        Assert.Equal("b1", destination.DestinationId);
        Assert.Equal(_backend.Address, destination.Address);
        Assert.Equal(DestinationHealth.Unknown, destination.Health);
        Assert.Equal(SessionStoreKind.InProcess, status.SessionStore.Kind);
        Assert.Equal(StoreConnectionState.NotApplicable, status.SessionStore.ConnectionState);
        Assert.Equal("CN=tandem-monitoring-test", status.Certificate.Subject);
        Assert.InRange(status.Certificate.DaysLeft, 0, 400);
    }

    [Fact]
    public async Task Watch_SendsSnapshotFirst()
    {
        await StartNodeAsync();

        using var call = CreateMonitorClient().Watch(new WatchRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        var first = call.ResponseStream.Current;
        Assert.Equal(NodeEvent.EventOneofCase.Snapshot, first.EventCase);
        Assert.Equal("node-test", first.Snapshot.NodeName);
    }

    [Fact]
    public async Task Watch_EndsWhenNodeStops()
    {
        await StartNodeAsync();
        using var call = CreateMonitorClient().Watch(new WatchRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        var stop = StopNodeAsync();
        var ended = await ReadToEndAsync(call.ResponseStream).WaitAsync(CallTimeout, TestContext.Current.CancellationToken);
        await stop;

        Assert.True(ended);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Watch_ReportsBackendHealthChange()
    {
        // YARP's active health check probes a port where nothing listens, so b2 turns unhealthy after the first probe.
        var closedPort = GetFreePort();
        await StartNodeAsync(configuration => configuration
            .Set("ReverseProxy:Clusters:backends:Destinations:b2:Address", $"http://127.0.0.1:{closedPort}/")
            .Set("ReverseProxy:Clusters:backends:HealthCheck:Active:Enabled", "true")
            .Set("ReverseProxy:Clusters:backends:HealthCheck:Active:Interval", "00:00:01")
            .Set("ReverseProxy:Clusters:backends:HealthCheck:Active:Timeout", "00:00:01")
            .Set("ReverseProxy:Clusters:backends:HealthCheck:Active:Path", "/"));

        using var call = CreateMonitorClient().Watch(new WatchRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        BackendHealthChanged? change = null;
        for (var i = 0; i < 20 && change?.DestinationId != "b2"; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
            if (call.ResponseStream.Current.EventCase == NodeEvent.EventOneofCase.BackendHealthChanged)
            {
                change = call.ResponseStream.Current.BackendHealthChanged;
            }
        }

        Assert.NotNull(change);
        Assert.Equal("backends", change.ClusterId);
        Assert.Equal("b2", change.DestinationId);
        Assert.Equal(DestinationHealth.Unknown, change.Previous);
        Assert.Equal(DestinationHealth.Unhealthy, change.Current);
    }

    [Fact]
    public async Task Health_ServingWhileProxyListens()
    {
        await StartNodeAsync();
        var health = new Health.HealthClient(CreateChannel());

        var overall = await health.CheckAsync(new HealthCheckRequest { Service = "" }, deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var monitor = await health.CheckAsync(
            new HealthCheckRequest { Service = ManagementServer.NodeMonitorServiceName }, deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, monitor.Status);
    }

    [Fact]
    public async Task Reflection_ListsMonitorAndHealth()
    {
        await StartNodeAsync();
        var reflection = new ServerReflection.ServerReflectionClient(CreateChannel());

        using var call = reflection.ServerReflectionInfo(deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, TestContext.Current.CancellationToken);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains("tandem.monitoring.v1.NodeMonitor", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task Metrics_ExportsPrometheusText()
    {
        await StartNodeAsync();
        using var http = new HttpClient { Timeout = CallTimeout };

        // HTTP/1.1 on the metrics port, as Prometheus scrapes it.
        using var response = await http.GetAsync(
            $"http://127.0.0.1:{_metricsPort}/metrics", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE tandem_proxy_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("tandem_proxy_listening 1", text, StringComparison.Ordinal);
        Assert.Contains(
            "tandem_proxy_destination_health{cluster=\"backends\",destination=\"b1\",health=\"unknown\"} 1",
            text,
            StringComparison.Ordinal);
        Assert.Contains("tandem_certificate_not_after_timestamp_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ExportsNodeMeters()
    {
        await StartNodeAsync();
        using var proxyClient = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate?.GetCertHashString() == _certificate.Certificate.GetCertHashString() },
        }) { Timeout = CallTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{_proxyPort}/hello");
        request.Headers.Add("Cookie", "Tandem.Affinity=not-a-session-id");
        using var proxied = await proxyClient.SendAsync(request, TestContext.Current.CancellationToken);
        using var http = new HttpClient { Timeout = CallTimeout };

        var text = await http.GetStringAsync($"http://127.0.0.1:{_metricsPort}/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Contains("tandem_proxy_requests_total 1", text, StringComparison.Ordinal);
        Assert.Contains("tandem_proxy_failures_total 0", text, StringComparison.Ordinal);
        Assert.True(text.Contains("tandem_affinity_cookies_rejected_total{reason=\"Malformed\"} 1", StringComparison.Ordinal), text);
    }

    [Fact]
    public async Task Metrics_ServedOverHttp2OnGrpcPort()
    {
        await StartNodeAsync();
        using var http = new HttpClient { Timeout = CallTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_managementPort}/metrics")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Contains("tandem_proxy_requests_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatus_DeniedOutsideAllowedNetworks()
    {
        await StartNodeAsync(configuration => configuration.Set("Management:AllowedNetworks:0", "198.51.100.0/24"));

        var exception = await Assert.ThrowsAsync<RpcException>(async () =>
            await CreateMonitorClient().GetStatusAsync(new GetStatusRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken));
        var health = await new Health.HealthClient(CreateChannel())
            .CheckAsync(new HealthCheckRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(StatusCode.PermissionDenied, exception.StatusCode);
        Assert.Contains("Management:AllowedNetworks", exception.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task Watch_DeniedOutsideAllowedNetworks()
    {
        await StartNodeAsync(configuration => configuration.Set("Management:AllowedNetworks:0", "198.51.100.0/24"));

        using var call = CreateMonitorClient().Watch(new WatchRequest(), deadline: Deadline(), cancellationToken: TestContext.Current.CancellationToken);
        var exception = await Assert.ThrowsAsync<RpcException>(
            () => call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.PermissionDenied, exception.StatusCode);
    }

    [Fact]
    public async Task PythonClient_ReadsStatus()
    {
        // Debian's python3-grpcio and python3-grpc-tools, which scripts/lib/prepare.sh installs, live under /usr/bin/python3.
        const string Python = "/usr/bin/python3";
        var script = Path.Combine(FindRepositoryRoot(), "monitoring", "clients", "python", "tandem_status.py");
        var probe = await RunAsync(Python, ["-c", "import grpc, grpc_tools"]);
        Assert.SkipWhen(probe.ExitCode != 0, $"{Python} cannot import grpc and grpc_tools: {probe.Error}");
        await StartNodeAsync();

        var result = await RunAsync(Python, [script, $"127.0.0.1:{_managementPort}"]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.StartsWith("node node-test version ", result.Output, StringComparison.Ordinal);
        Assert.Contains($"proxy 127.0.0.1:{_proxyPort}: 1 destinations", result.Output, StringComparison.Ordinal);
        Assert.Contains("certificate CN=tandem-monitoring-test", result.Output, StringComparison.Ordinal);
        Assert.Contains("cluster as node-test sees it:", result.Output, StringComparison.Ordinal);
        Assert.Contains("  node-test: live", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_FailsWhenPortInUse()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, _managementPort);
        occupied.Start();

        var exception = await Assert.ThrowsAsync<ListenerBindException>(() => StartNodeAsync());

        Assert.StartsWith("The management listener could not listen on 127.0.0.1", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Management:Port", exception.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> ReadToEndAsync(IAsyncStreamReader<NodeEvent> stream)
    {
        // Bounded: a node with no backend health checks and no VRRP publishes no events after the snapshot.
        for (var i = 0; i < 100; i++)
        {
            if (!await stream.MoveNext(CancellationToken.None))
            {
                return true;
            }
        }

        return false;
    }

    private async Task StartNodeAsync(Action<NodeConfiguration>? configure = null)
    {
        var configuration = new NodeConfiguration(_certificate, _proxyPort, _backend.Address)
            .Set("Management:Port", _managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Set("Management:MetricsPort", _metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        configure?.Invoke(configuration);

        _node = await NodeApplication.CreateAsync(configuration.AddTo);
        await _node.StartAsync(TestContext.Current.CancellationToken);
    }

    private async Task StopNodeAsync()
    {
        var node = _node;
        _node = null;
        if (node is not null)
        {
            await node.StopAsync(CancellationToken.None);
            await node.DisposeAsync();
        }
    }

    private GrpcChannel CreateChannel() =>
        _channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{_managementPort}");

    private NodeMonitor.NodeMonitorClient CreateMonitorClient() => new(CreateChannel());

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string fileName, string[] arguments)
    {
        var startInfo = new System.Diagnostics.ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(startInfo)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Cluster.sln above {AppContext.BaseDirectory}.");
    }

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
