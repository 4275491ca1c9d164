using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;
using Tandem.Vrrp;

namespace Tandem.Node.Vrrp;

/// <summary>
/// Runs the VRRP speaker for the node's virtual addresses and ties it to the host's lifetime.
/// </summary>
/// <remarks>
/// The speaker starts in <see cref="StartedAsync"/>, after Kestrel listens, so this node never takes the virtual
/// addresses while it cannot serve them. It stops in <see cref="StoppingAsync"/>, which the host runs before any
/// hosted service's StopAsync and so before Kestrel stops accepting connections. A master sends its priority-0 advert
/// at once, and under RFC 9568 a backup that receives it takes over after Skew_Time instead of the full down interval.
/// </remarks>
internal sealed partial class VrrpHostedService : IHostedLifecycleService, IAsyncDisposable
{
    private readonly VrrpOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private VrrpSpeaker? _speaker;

    public VrrpHostedService(VrrpOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("Tandem.Node.Vrrp");
    }

    public VrrpState State => _speaker?.State ?? VrrpState.Initialize;

    /// <summary>The running speaker, or null before the host has started it.</summary>
    public VrrpSpeaker? Speaker => _speaker;

    /// <summary>Raised after every state change, on the speaker's loop, after the change is logged. Handlers must not block.</summary>
    public event Action<VrrpStateChange>? StateChanged;

    /// <summary>Raised when the speaker enters or leaves maintenance mode, with the same rules as <see cref="StateChanged"/>.</summary>
    public event Action<VrrpMaintenanceChange>? MaintenanceChanged;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        Log.Starting(
            _logger,
            _options.VirtualRouterId,
            _options.Interface,
            _options.Priority,
            string.Join(", ", _options.VirtualAddresses));

        var speaker = new VrrpSpeaker(_options, _loggerFactory, _timeProvider);
        speaker.StateChanged += OnStateChanged;
        speaker.MaintenanceChanged += OnMaintenanceChanged;
        _speaker = speaker;

        try
        {
            await speaker.StartAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Without VRRP this node would serve traffic that no failover protects, so stop the host instead.
            Log.StartFailed(_logger, _options.VirtualRouterId, _options.Interface, exception);
            throw;
        }

        Log.Started(_logger, _options.VirtualRouterId, speaker.State);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_speaker is null)
        {
            return;
        }

        Log.Stopping(_logger, _options.VirtualRouterId, _speaker.State);
        try
        {
            await _speaker.StopAsync(cancellationToken);
            Log.Stopped(_logger, _options.VirtualRouterId);
        }
        catch (Exception exception)
        {
            // Keep shutting down: the release command run by the service manager removes the addresses anyway.
            Log.StopFailed(_logger, _options.VirtualRouterId, exception);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_speaker is not null)
        {
            _speaker.StateChanged -= OnStateChanged;
            _speaker.MaintenanceChanged -= OnMaintenanceChanged;
            await _speaker.DisposeAsync();
        }
    }

    private void OnStateChanged(VrrpStateChange change)
    {
        Log.StateChanged(_logger, change.VirtualRouterId, change.From, change.To, change.Reason);
        StateChanged?.Invoke(change);
    }

    private void OnMaintenanceChanged(VrrpMaintenanceChange change) => MaintenanceChanged?.Invoke(change);

    private static partial class Log
    {
        [LoggerMessage(EventIds.VrrpStarting, LogLevel.Information,
            "Starting VRRP: VRID {Vrid} on {Interface}, priority {Priority}, virtual addresses {VirtualAddresses}")]
        public static partial void Starting(ILogger logger, int vrid, string @interface, int priority, string virtualAddresses);

        [LoggerMessage(EventIds.VrrpStarted, LogLevel.Information, "VRRP VRID {Vrid} started in state {State}")]
        public static partial void Started(ILogger logger, int vrid, VrrpState state);

        [LoggerMessage(EventIds.VrrpStateChanged, LogLevel.Information,
            "VRRP VRID {Vrid} changed state {From} -> {To}: {Reason}")]
        public static partial void StateChanged(ILogger logger, int vrid, VrrpState from, VrrpState to, string reason);

        [LoggerMessage(EventIds.VrrpStopping, LogLevel.Information,
            "Stopping VRRP VRID {Vrid} in state {State} before the listener closes")]
        public static partial void Stopping(ILogger logger, int vrid, VrrpState state);

        [LoggerMessage(EventIds.VrrpStopped, LogLevel.Information, "VRRP VRID {Vrid} stopped")]
        public static partial void Stopped(ILogger logger, int vrid);

        [LoggerMessage(EventIds.VrrpStartFailed, LogLevel.Critical,
            "VRRP VRID {Vrid} failed to start on {Interface}, so the node stops. Check that the interface exists and " +
            "that the process has CAP_NET_RAW and CAP_NET_ADMIN")]
        public static partial void StartFailed(ILogger logger, int vrid, string @interface, Exception exception);

        [LoggerMessage(EventIds.VrrpStopFailed, LogLevel.Error,
            "VRRP VRID {Vrid} failed to stop cleanly, so the backup takes over only after its down interval")]
        public static partial void StopFailed(ILogger logger, int vrid, Exception exception);
    }
}
