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
    private readonly ConnectingStorage _storage = new();
    private readonly Task<ITicketKeyStorage> _connecting;

    public TicketKeyRingService(NodeSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        Ring = new TicketKeyRing(_storage, CreateOptions(settings.Proxy), timeProvider, loggerFactory.CreateLogger("Tandem.Node.Tls.TicketKeys"));

        // The host creates every hosted service before it starts the first, so connecting here overlaps with the
        // affinity store's connection, and with Redis down the two connect timeouts run at the same time.
        _connecting = settings.UsesRedis
            ? ConnectRedisAsync(settings.SessionStore, loggerFactory, timeProvider)
            : Task.FromResult<ITicketKeyStorage>(new InProcessTicketKeyStorage());
    }

    public TicketKeyRing Ring { get; }

    public static TicketKeyOptions CreateOptions(ProxyOptions proxy) => new()
    {
        RotationInterval = TimeSpan.FromSeconds(proxy.TicketKeyRotationSeconds),
        Overlap = proxy.TicketKeyOverlap,
    };

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        _storage.Inner = await _connecting.WaitAsync(cancellationToken);
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

        // A failed connection attempt already surfaced in StartingAsync, so only a connected storage is left to close.
        await ((Task)_connecting).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_connecting.IsCompletedSuccessfully && _connecting.Result is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    private static async Task<ITicketKeyStorage> ConnectRedisAsync(
        SessionStoreOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider)
    {
        // Bounded by SessionStore:ConnectTimeoutMilliseconds, because the connection does not abort on failure.
        return await RedisTicketKeyStorage.ConnectAsync(options, loggerFactory, timeProvider, CancellationToken.None);
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
