using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.SessionStore;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.Node.Tls;

/// <summary>
/// The cluster's session-ticket key ring as a hosted service: it connects to Redis (or uses an in-process storage
/// without Redis) and reads the keys while the host starts, before Kestrel listens.
/// </summary>
internal sealed class TicketKeyRingService : IHostedLifecycleService, IAsyncDisposable
{
    private readonly NodeSettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ConnectingStorage _storage = new();

    public TicketKeyRingService(NodeSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        _settings = settings;
        _loggerFactory = loggerFactory;
        _timeProvider = timeProvider;
        Ring = new TicketKeyRing(_storage, CreateOptions(settings.Proxy), timeProvider, loggerFactory.CreateLogger("Tandem.Node.Tls.TicketKeys"));
    }

    public TicketKeyRing Ring { get; }

    public static TicketKeyOptions CreateOptions(ProxyOptions proxy) => new()
    {
        RotationInterval = TimeSpan.FromSeconds(proxy.TicketKeyRotationSeconds),
        Overlap = proxy.TicketKeyOverlap,
    };

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        _storage.Inner = _settings.UsesRedis
            ? await RedisTicketKeyStorage.ConnectAsync(_settings.SessionStore, _loggerFactory, _timeProvider, cancellationToken)
            : new InProcessTicketKeyStorage();
        await Ring.StartAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await Ring.DisposeAsync();
        if (_storage.Inner is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    /// <summary>The storage chosen at startup; before that, every read returns null, as an unreachable storage does.</summary>
    private sealed class ConnectingStorage : ITicketKeyStorage
    {
        public ITicketKeyStorage? Inner { get; set; }

        public string Name => Inner?.Name ?? "redis";

        public ValueTask<byte[]?> GetOrAddAsync(long epoch, byte[] candidate, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            Inner?.GetOrAddAsync(epoch, candidate, timeToLive, cancellationToken) ?? ValueTask.FromResult<byte[]?>(null);

        public ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(IReadOnlyList<long> epochs, CancellationToken cancellationToken) =>
            Inner?.GetAsync(epochs, cancellationToken) ?? ValueTask.FromResult<IReadOnlyDictionary<long, byte[]>?>(null);
    }
}
