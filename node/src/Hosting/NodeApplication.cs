using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.Node.Control;
using Tandem.Node.Forwarding;
using Tandem.Node.Monitoring;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tls;
using Tandem.Node.Tls.OpenSsl;
using Tandem.Node.Transport;
using Tandem.Node.Vrrp;
using Tandem.Node.Vrrp.Tracking;
using Tandem.SessionStore;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;

namespace Tandem.Node.Hosting;

/// <summary>Hooks for tests that host the node in process.</summary>
internal sealed class NodeApplicationOptions
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Runs after the node's own logging setup, for example to add a log collector.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}

/// <summary>
/// Builds the node: validates the whole configuration first, then sets up Kestrel, YARP, the affinity store and
/// VRRP.
/// </summary>
internal static partial class NodeApplication
{
    /// <exception cref="InvalidNodeConfigurationException">The configuration has one or more errors.</exception>
    public static async Task<WebApplication> CreateAsync(
        Action<IConfigurationBuilder> addConfiguration,
        NodeApplicationOptions? options = null)
    {
        options ??= new NodeApplicationOptions();

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Replace the default sources (appsettings.json in the content root and so on) with the node's own.
        builder.Configuration.Sources.Clear();
        addConfiguration(builder.Configuration);

        var errors = new List<string>();
        var warnings = new List<string>();
        NodeConfigurationSources.CheckTopLevelSections(builder.Configuration, errors);
        var settings = NodeSettingsLoader.Load(builder.Configuration, options.TimeProvider, errors, warnings, out var proxy);
        var management = ManagementSettings.Load(builder.Configuration, proxy.Port, errors);
        var controlToken = ControlToken.Load(builder.Configuration, errors);
        await ReverseProxyValidation.ValidateAsync(builder.Configuration, errors, warnings);
        if (errors.Count > 0 || settings is null)
        {
            throw new InvalidNodeConfigurationException(errors, warnings);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        options.ConfigureLogging?.Invoke(builder.Logging);

        var listenerGate = new ProxyListenerGate();
        builder.Services.AddSingleton(listenerGate);
        ConfigureKestrel(builder.WebHost, settings, listenerGate);
        ConfigureServices(builder.Services, builder.Configuration, settings, options.TimeProvider);
        builder.Services.AddNodeMonitoring(management);
        builder.Services.AddNodeControl(controlToken);

        // Under a systemd unit of Type=notify this reports readiness once every hosted service has
        // started (the proxy listener, then VRRP), and it does nothing outside systemd.
        builder.Host.UseSystemd();

        var app = builder.Build();
        app.Use(app.Services.GetRequiredService<ProxyRequestCounters>().InvokeAsync);
        app.Use(app.Services.GetRequiredService<ProxyConnectionDrain>().OnRequestAsync);
        app.MapReverseProxy();

        LogStartup(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tandem.Node.Startup"), settings, warnings);
        if (management is null)
        {
            Log.ManagementDisabled(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tandem.Node.Startup"));
        }

        return app;
    }

    private static void ConfigureKestrel(IWebHostBuilder webHost, NodeSettings settings, ProxyListenerGate listenerGate)
    {
        webHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Latin-1 maps each header byte to one character, so bytes outside ASCII pass through to the destination
            // unchanged (HeaderBytesForwarderHttpClientFactory encodes them back the same way). The default, UTF-8,
            // would reject invalid UTF-8 with 400 and re-encode the rest differently from what the client sent.
            kestrel.RequestHeaderEncodingSelector = static _ => Encoding.Latin1;

            // The cluster clients decode response headers as Latin-1 unless a cluster sets
            // HttpClient:ResponseHeaderEncoding, and Kestrel's default, ASCII only, would turn every response header
            // outside ASCII into a 502. Encoding them as Latin-1 again returns the destination's bytes unchanged.
            kestrel.ResponseHeaderEncodingSelector = static _ => Encoding.Latin1;
            kestrel.Listen(settings.ListenAddress, settings.Proxy.Port, listen =>
            {
                // ALPN selects HTTP/2 during the TLS handshake, and clients without ALPN get HTTP/1.1.
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseConnectionDrain();
                UseProxyTls(listen, settings);
            });
        });

        // This host has only the proxy listener, so the gate keeps the proxy's listen socket.
        webHost.UseSockets(sockets => sockets.CreateBoundListenSocket = listenerGate.CreateListenSocket);
    }

    private static void UseProxyTls(ListenOptions listen, NodeSettings settings)
    {
        if (settings.TlsEngine == TlsEngine.OpenSsl)
        {
            listen.UseOpenSslTls();
            return;
        }

        listen.UseSslStreamTls(settings.Certificates);
    }

    private static void ConfigureServices(
        IServiceCollection services,
        IConfiguration configuration,
        NodeSettings settings,
        TimeProvider timeProvider)
    {
        services.AddSingleton(timeProvider);
        services.AddSingleton(settings);
        services.AddSingleton(settings.TrustedProxies);
        services.AddMetrics();
        services.TryAddSingleton<AffinityMetrics>();
        services.AddSingleton(settings.SessionStore);

        var localCapacity = settings.UsesRedis ? AffinityPins.LocalCacheCapacity : AffinityPins.InProcessStoreCapacity;
        var local = new InProcessAffinityStore(timeProvider, localCapacity);
        services.AddSingleton(local);

        if (settings.UsesRedis)
        {
            services.AddSingleton(provider => new SessionStoreMetrics(provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
            services.AddSingleton<SharedAffinityStoreConnector>();
            services.AddSingleton<IAffinityStore>(provider => provider.GetRequiredService<SharedAffinityStoreConnector>());
            services.AddHostedService(provider => provider.GetRequiredService<SharedAffinityStoreConnector>());
        }
        else
        {
            services.AddSingleton<IAffinityStore>(local);
        }

        services.AddSingleton(provider =>
        {
            var pins = new AffinityPins(
                local,
                provider.GetRequiredService<IAffinityStore>(),
                settings.SessionStore.AffinityTtl,
                timeProvider);

            // Redis may come back empty after a connection failure, so cached pins are written back on next use.
            if (provider.GetService<SharedAffinityStoreConnector>() is { } connector)
            {
                connector.ConnectivityChanged += pins.OnSharedConnectivityChanged;
            }

            return pins;
        });

        services.AddSingleton(new ClusterCookieOptions(settings.UnhealthyPinPolicy));
        if (settings.TlsEngine == TlsEngine.OpenSsl)
        {
            services.AddOpenSslTls(settings);

            // The destination hints in affinity cookies take their keys from the ticket key ring, which only the
            // OpenSSL engine has, so with SslStream the cookie carries the session id alone.
            services.AddSingleton(provider => new DestinationHints(provider.GetRequiredService<TicketKeyRingService>().Ring));
        }

        services.AddReverseProxyServices(configuration.GetSection("ReverseProxy"));
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, HeaderBytesForwarderHttpClientFactory>());

        if (settings.Vrrp is not null)
        {
            services.AddSingleton(settings.Vrrp);
            services.AddSingleton<VrrpHostedService>();

            // Registered before the VRRP service so that its first check runs before any speaker starts.
            services.AddHostedService(provider => new NodeConditionTracker(
                provider.GetRequiredService<VrrpHostedService>().Routers,
                NodeConditionChecks.Create(
                    provider.GetRequiredService<IHostApplicationLifetime>(),
                    provider.GetRequiredService<IProxyStateLookup>(),
                    provider.GetService<SharedAffinityStoreConnector>()),
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger("Tandem.Node.Vrrp.Tracking")));
            services.AddHostedService(provider => provider.GetRequiredService<VrrpHostedService>());
        }
    }

    private static void LogStartup(ILogger logger, NodeSettings settings, List<string> warnings)
    {
        Log.NodeStarting(logger, settings.NodeName, settings.ListenAddress.ToString(), settings.Proxy.Port,
            settings.Certificate.Certificate.Subject, settings.TrustedProxies.Networks.Count);

        foreach (var warning in warnings)
        {
            Log.ConfigurationWarning(logger, warning);
        }

        if (settings.Vrrp is null)
        {
            Log.VrrpDisabled(logger);
        }

        if (settings.UsesRedis)
        {
            Log.RedisStoreSelected(logger, settings.SessionStore.KeyPrefix, settings.SessionStore.AffinityTtlSeconds);
        }
        else
        {
            Log.InProcessStoreSelected(logger, AffinityPins.InProcessStoreCapacity);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Logging.EventIds.NodeStarting, LogLevel.Information,
            "Node {NodeName} starting: HTTPS on {ListenAddress}:{Port}, certificate {CertificateSubject}, " +
            "{TrustedProxyCount} trusted proxy networks")]
        public static partial void NodeStarting(
            ILogger logger,
            string nodeName,
            string listenAddress,
            int port,
            string certificateSubject,
            int trustedProxyCount);

        [LoggerMessage(Logging.EventIds.ManagementDisabled, LogLevel.Information,
            "The management listener is off because Management:Port is 0: no gRPC status, health or /metrics")]
        public static partial void ManagementDisabled(ILogger logger);

        [LoggerMessage(Logging.EventIds.ConfigurationWarning, LogLevel.Warning, "{Warning}")]
        public static partial void ConfigurationWarning(ILogger logger, string warning);

        [LoggerMessage(Logging.EventIds.VrrpDisabled, LogLevel.Warning,
            "VRRP is off because Vrrp:Interface is empty: this node never takes over a virtual address. " +
            "Use this only for a single node or for tests")]
        public static partial void VrrpDisabled(ILogger logger);

        [LoggerMessage(Logging.EventIds.InProcessStoreSelected, LogLevel.Warning,
            "SessionStore:Redis is empty, so affinity pins live only in this process (at most {Capacity}). " +
            "Use this only for a single node: another node cannot see the pins, and a restart loses them")]
        public static partial void InProcessStoreSelected(ILogger logger, int capacity);

        [LoggerMessage(Logging.EventIds.RedisStoreSelected, LogLevel.Information,
            "Affinity pins are shared through Redis with key prefix {KeyPrefix} and a TTL of {AffinityTtlSeconds} s")]
        public static partial void RedisStoreSelected(ILogger logger, string keyPrefix, int affinityTtlSeconds);
    }
}
