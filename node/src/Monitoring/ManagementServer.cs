using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Tandem.Monitoring.V1;
using Tandem.Node.Control;
using Tandem.Node.Hosting;
using Tandem.Node.Logging;

namespace Tandem.Node.Monitoring;

/// <summary>
/// The management listener: a second, small ASP.NET Core application in the node process with its own Kestrel
/// endpoint. It serves NodeMonitor, grpc.health.v1, server reflection and <c>/metrics</c>.
/// </summary>
/// <remarks>
/// A separate application keeps the proxy's catch-all routes off this port and the management endpoints off the proxy
/// port. It starts with the node's hosted services, before the proxy listener, so health probes get NOT_SERVING until
/// the proxy accepts connections instead of a refused connection.
/// </remarks>
internal sealed partial class ManagementServer(
    ManagementSettings settings,
    NodeStatusCollector collector,
    NodeEventHub hub,
    ClusterViewBuilder clusterView,
    ManagementMetrics metrics,
    NodeControlContext control,
    IHostApplicationLifetime nodeLifetime,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    /// <summary>Health service name of NodeMonitor, as grpc.health.v1 clients ask for it.</summary>
    public const string NodeMonitorServiceName = "tandem.monitoring.v1.NodeMonitor";

    private const string ProxyTag = "proxy";
    private const string MonitorTag = "monitor";

    private readonly ILogger _logger = loggerFactory.CreateLogger("Tandem.Node.Monitoring");
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();

        // The node's host owns the console and the signals; this one only follows it.
        builder.Services.AddSingleton<IHostLifetime, FollowerHostLifetime>();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(timeProvider);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(collector);
        builder.Services.AddSingleton(hub);
        builder.Services.AddSingleton(clusterView);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<AllowedNetworksInterceptor>();

        builder.Services
            .AddGrpc(options => options.EnableDetailedErrors = false)
            .AddServiceOptions<NodeMonitorService>(options => options.Interceptors.Add<AllowedNetworksInterceptor>());
        builder.Services.AddNodeControlService(control);
        builder.Services.AddGrpcReflection();
        builder.Services
            .AddGrpcHealthChecks(options =>
            {
                options.Services.Map("", result => result.Tags.Contains(ProxyTag));
                options.Services.Map(NodeMonitorServiceName, result => result.Tags.Contains(MonitorTag));
            })
            .AddCheck<ProxyListenerHealthCheck>(ProxyListenerHealthCheck.Name, tags: [ProxyTag])
            .AddCheck(
                "node-monitor",
                () => nodeLifetime.ApplicationStopping.IsCancellationRequested
                    ? HealthCheckResult.Unhealthy("The node is stopping.")
                    : HealthCheckResult.Healthy(),
                tags: [MonitorTag]);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Without TLS there is no ALPN, and Kestrel serves HTTP/1.1 only on an endpoint that allows both versions.
            // gRPC clients such as grpcurl -plaintext need HTTP/2 with prior knowledge, so this port is HTTP/2 only,
            // and Prometheus, which scrapes over HTTP/1.1, gets a port of its own.
            kestrel.Listen(settings.Address, settings.Port, listen => listen.Protocols = HttpProtocols.Http2);
            if (settings.MetricsPort != 0)
            {
                kestrel.Listen(settings.Address, settings.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });

        var app = builder.Build();
        app.MapGrpcService<NodeMonitorService>();
        app.MapGrpcService<NodeControlService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapMetrics("/metrics", metrics.Registry);

        try
        {
            await ListenerStart.StartAsync(
                app,
                exception =>
                    $"The management listener could not listen on {settings.Address} port {settings.Port} or " +
                    $"{settings.MetricsPort} ({exception.Message}). Set Management:Port and Management:MetricsPort to " +
                    "free ports, Management:Address to an address of this host, or Management:Port to 0 to turn the " +
                    "listener off.",
                cancellationToken);
        }
        catch (ListenerBindException)
        {
            await app.DisposeAsync();
            throw;
        }

        _app = app;
        Log.Listening(_logger, settings.Address.ToString(), settings.Port, settings.MetricsPort, string.Join(", ", settings.AllowedNetworks));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>A host lifetime that neither waits for nor handles SIGTERM or Ctrl+C.</summary>
    private sealed class FollowerHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ManagementListening, LogLevel.Information,
            "Management listener on {Address}:{Port} (plain-text HTTP/2: gRPC and /metrics), /metrics over HTTP/1.1 on " +
            "port {MetricsPort} (0 is off); NodeMonitor allowed from {AllowedNetworks}")]
        public static partial void Listening(ILogger logger, string address, int port, int metricsPort, string allowedNetworks);
    }
}
