using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.SessionStore;

namespace Tandem.Node.Hosting;

/// <summary>
/// The Redis affinity store as a hosted service: it connects while the host starts, before Kestrel listens, and
/// reports <c>Unavailable</c> for any call made before that. It attaches the node-local cache to the store, so pins
/// that other nodes change leave the cache.
/// </summary>
internal sealed class SharedAffinityStoreConnector(
    SessionStoreOptions options,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider,
    SessionStoreMetrics metrics,
    InProcessAffinityStore localCache) : IAffinityStore, IHostedLifecycleService, IAsyncDisposable
{
    private RedisAffinityStore? _store;

    public string Name => "redis";

    /// <summary>The connected store, or null while the host is still starting.</summary>
    public RedisAffinityStore? Store => _store;

    /// <summary>Forwards <see cref="RedisAffinityStore.ConnectivityChanged"/> once the store exists.</summary>
    public event Action? ConnectivityChanged;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var store = await RedisAffinityStore.ConnectAsync(options, loggerFactory, timeProvider, metrics, cancellationToken);
        store.AttachLocalCache(localCache);
        store.ConnectivityChanged += () => ConnectivityChanged?.Invoke();
        _store = store;
    }

    public ValueTask<AffinityLookup> GetAsync(string clusterId, string sessionId, CancellationToken cancellationToken) =>
        _store?.GetAsync(clusterId, sessionId, cancellationToken) ?? ValueTask.FromResult(AffinityLookup.Unavailable);

    public ValueTask<AffinityWriteStatus> SetAsync(
        string clusterId,
        string sessionId,
        string destinationId,
        TimeSpan timeToLive,
        CancellationToken cancellationToken) =>
        _store?.SetAsync(clusterId, sessionId, destinationId, timeToLive, cancellationToken)
        ?? ValueTask.FromResult(AffinityWriteStatus.Unavailable);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}
