using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.Node.Logging;
using Tandem.Vrrp;

namespace Tandem.Node.Vrrp;

/// <summary>
/// Runs one VRRP speaker per configured virtual router, keeps the routers of each sync group in step, and ties them
/// to the host's lifetime.
/// </summary>
/// <remarks>
/// The speakers start in <see cref="StartedAsync"/>, after Kestrel listens, so this node never takes the virtual
/// addresses while it cannot serve them. They stop in <see cref="StoppingAsync"/>, which the host runs before any
/// hosted service's StopAsync and so before Kestrel stops accepting connections. A master sends its priority-0 advert
/// at once, and under RFC 9568 a backup that receives it takes over after Skew_Time instead of the full down interval.
/// Each speaker opens its own raw socket, so every socket receives the adverts of all VRIDs on its interface, and each
/// speaker counts the other VRIDs' valid adverts as <c>OtherVrid</c>, not as invalid.
/// NOTE: the packet checks before the VRID check (version, checksum) use the receiving router's settings, so routers
/// on one interface that differ in <c>Version</c> or <c>ChecksumMode</c> count each other's adverts as invalid.
/// </remarks>
internal sealed partial class VrrpHostedService : IHostedLifecycleService, IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly VrrpSyncGroupCoordinator? _coordinator;
    private readonly List<VrrpRouter> _started = [];

    public VrrpHostedService(VrrpSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        _logger = loggerFactory.CreateLogger("Tandem.Node.Vrrp");
        Routers = settings.Routers
            .Select(router => new VrrpRouter(router, new VrrpSpeaker(router.Options, loggerFactory, timeProvider) { InstanceName = router.Name })
            {
                SyncGroup = settings.SyncGroups.FirstOrDefault(group => group.Routers.Contains(router.Name, StringComparer.OrdinalIgnoreCase))?.Name,
            })
            .ToList();

        foreach (var router in Routers)
        {
            router.Speaker.StateChanged += change => OnStateChanged(router, change);
            router.Speaker.MaintenanceChanged += change => MaintenanceChanged?.Invoke(router, change);
        }

        if (settings.SyncGroups.Count > 0)
        {
            _coordinator = new VrrpSyncGroupCoordinator(
                settings.SyncGroups,
                Routers.Select(router => new SpeakerSyncGroupMember(router)).ToList(),
                timeProvider,
                loggerFactory.CreateLogger("Tandem.Node.Vrrp.SyncGroups"));
        }
    }

    /// <summary>Every virtual router in configuration order. A router's speaker is in Initialize before the start.</summary>
    public IReadOnlyList<VrrpRouter> Routers { get; }

    /// <summary>Raised after every state change of any router, on that speaker's loop, after the change is logged. Handlers must not block.</summary>
    public event Action<VrrpRouter, VrrpStateChange>? StateChanged;

    /// <summary>Raised when a router enters or leaves maintenance mode, with the same rules as <see cref="StateChanged"/>.</summary>
    public event Action<VrrpRouter, VrrpMaintenanceChange>? MaintenanceChanged;

    /// <summary>Returns the router called <paramref name="name"/>, compared without case, or null.</summary>
    public VrrpRouter? FindRouter(string name) =>
        Routers.FirstOrDefault(router => string.Equals(router.Name, name, StringComparison.OrdinalIgnoreCase));

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        foreach (var router in Routers)
        {
            var options = router.Options;
            Log.Starting(_logger, router.Name, options.VirtualRouterId, options.Interface, options.Priority, string.Join(", ", options.VirtualAddresses));
            try
            {
                await router.Speaker.StartAsync(cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Without VRRP this node would serve traffic that no failover protects, so stop the host instead. The
                // routers started so far stop when the host disposes this service, and release their addresses.
                Log.StartFailed(_logger, router.Name, options.VirtualRouterId, options.Interface, exception);
                throw;
            }

            _started.Add(router);
            Log.Started(_logger, router.Name, options.VirtualRouterId, router.State);
        }
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _coordinator?.Stop();

        // All routers stop at once, so every master's priority-0 advert goes out without waiting for the others.
        await Task.WhenAll(_started.Select(router => StopAsync(router, cancellationToken)));
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _coordinator?.Stop();
        foreach (var router in Routers)
        {
            await router.Speaker.DisposeAsync();
        }
    }

    private async Task StopAsync(VrrpRouter router, CancellationToken cancellationToken)
    {
        var vrid = router.Options.VirtualRouterId;
        Log.Stopping(_logger, router.Name, vrid, router.State);
        try
        {
            await router.Speaker.StopAsync(cancellationToken);
            Log.Stopped(_logger, router.Name, vrid);
        }
        catch (Exception exception)
        {
            // Keep shutting down: the release command run by the service manager removes the addresses anyway.
            Log.StopFailed(_logger, router.Name, vrid, exception);
        }
    }

    private void OnStateChanged(VrrpRouter router, VrrpStateChange change)
    {
        Log.StateChanged(_logger, router.Name, change.VirtualRouterId, change.From, change.To, change.Reason);
        StateChanged?.Invoke(router, change);
        _coordinator?.OnStateChanged(router.Name, change);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.VrrpStarting, LogLevel.Information,
            "Starting VRRP router {Router}: VRID {Vrid} on {Interface}, priority {Priority}, virtual addresses {VirtualAddresses}")]
        public static partial void Starting(ILogger logger, string router, int vrid, string @interface, int priority, string virtualAddresses);

        [LoggerMessage(EventIds.VrrpStarted, LogLevel.Information, "VRRP router {Router} (VRID {Vrid}) started in state {State}")]
        public static partial void Started(ILogger logger, string router, int vrid, VrrpState state);

        [LoggerMessage(EventIds.VrrpStateChanged, LogLevel.Information,
            "VRRP router {Router} (VRID {Vrid}) changed state {From} -> {To}: {Reason}")]
        public static partial void StateChanged(ILogger logger, string router, int vrid, VrrpState from, VrrpState to, string reason);

        [LoggerMessage(EventIds.VrrpStopping, LogLevel.Information,
            "Stopping VRRP router {Router} (VRID {Vrid}) in state {State} before the listener closes")]
        public static partial void Stopping(ILogger logger, string router, int vrid, VrrpState state);

        [LoggerMessage(EventIds.VrrpStopped, LogLevel.Information, "VRRP router {Router} (VRID {Vrid}) stopped")]
        public static partial void Stopped(ILogger logger, string router, int vrid);

        [LoggerMessage(EventIds.VrrpStartFailed, LogLevel.Critical,
            "VRRP router {Router} (VRID {Vrid}) failed to start on {Interface}, so the node stops. Check that the interface exists and " +
            "that the process has CAP_NET_RAW and CAP_NET_ADMIN")]
        public static partial void StartFailed(ILogger logger, string router, int vrid, string @interface, Exception exception);

        [LoggerMessage(EventIds.VrrpStopFailed, LogLevel.Error,
            "VRRP router {Router} (VRID {Vrid}) failed to stop cleanly, so the backup takes over only after its down interval")]
        public static partial void StopFailed(ILogger logger, string router, int vrid, Exception exception);
    }
}
