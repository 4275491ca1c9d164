using Microsoft.Extensions.Logging;

namespace Tandem.Vrrp;

// STUB: the public surface that node/ builds against. The implementation replaces the bodies.
public sealed class VrrpSpeaker : IAsyncDisposable
{
    public VrrpSpeaker(VrrpOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        Options = options;
    }

    public VrrpOptions Options { get; }

    public VrrpState State { get; private set; } = VrrpState.Initialize;

    /// <summary>Raised after every state change, on the speaker's own loop.</summary>
    public event Action<VrrpStateChange>? StateChanged;

    /// <summary>Removes stale virtual addresses, opens the raw socket and enters Backup (or Master for priority 255).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        StateChanged?.Invoke(new VrrpStateChange(Options.VirtualRouterId, State, State, "stub", DateTimeOffset.UtcNow));
        return Task.CompletedTask;
    }

    /// <summary>As master: sends an advert with priority 0 and removes the virtual addresses. Then closes the socket.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Removes the configured virtual addresses from the interface if present. Used at startup and by the
    /// node's release command, which a service manager runs after the process ends (systemd ExecStopPost).
    /// </summary>
    public static Task ReleaseAddressesAsync(VrrpOptions options, ILogger logger, CancellationToken cancellationToken) => Task.CompletedTask;
}
