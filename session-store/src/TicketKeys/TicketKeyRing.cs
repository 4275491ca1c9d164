using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Tandem.SessionStore.TicketKeys;

/// <summary>
/// The cluster's TLS session-ticket keys as cached by this node. Time is cut into rotation intervals counted from the
/// Unix epoch, and each interval has one key in the storage: the first node that needs it creates it. The key of the
/// current interval encrypts new tickets, and the keys of the <see cref="TicketKeyOptions.Overlap"/> intervals before
/// it still decrypt. A ticket under an older, retired key is not accepted, so its client gets a full handshake.
/// </summary>
/// <remarks>
/// The node caches the last set it read. While the storage is unreachable it keeps serving with the cached keys
/// (dropping those that retire meanwhile), and only when it has no usable key at all does it make up a local one,
/// which other nodes cannot decrypt. Both cases mark the set as degraded until a refresh succeeds. When the storage
/// responds but has lost a key that the node cached from it, as after a Redis restart without persistence, the node
/// writes the cached key back instead of creating new material for that interval.
/// </remarks>
public sealed partial class TicketKeyRing : IAsyncDisposable
{
    private readonly ITicketKeyStorage _storage;
    private readonly TicketKeyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private TicketKeySet? _current;

    public TicketKeyRing(ITicketKeyStorage storage, TicketKeyOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RotationInterval, TimeSpan.FromSeconds(1));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Overlap);

        _storage = storage;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public TicketKeyOptions Options => _options;

    /// <summary>The keys in use. Before the first refresh, a local key so TLS never waits for the storage.</summary>
    public TicketKeySet Current => Volatile.Read(ref _current) ?? CreateFirstLocalSet();

    /// <summary>Reads the keys once, then refreshes them on a timer until disposed.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        _timer = _timeProvider.CreateTimer(
            static state => ((TicketKeyRing)state!).OnTimer(),
            this,
            TimeUntilNextRefresh(),
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Reads the keys of the current interval, restoring or creating the ones that are missing, and replaces
    /// <see cref="Current"/>. Never throws for storage faults.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            var now = _timeProvider.GetUtcNow();
            var epoch = GetEpoch(now);
            var previous = Volatile.Read(ref _current);
            var next = await ReadFromStorageAsync(epoch, previous, now, cancellationToken)
                ?? BuildFromCache(epoch, previous, now);
            Volatile.Write(ref _current, next);
            Report(previous, next, now);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>Returns the rotation interval that contains <paramref name="time"/>.</summary>
    public long GetEpoch(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / (long)_options.RotationInterval.TotalMilliseconds;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }
    }

    private async Task<TicketKeySet?> ReadFromStorageAsync(
        long epoch,
        TicketKeySet? previous,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        // The next interval's key is read too, because another node whose clock runs a little ahead may have created
        // it already.
        var epochs = new List<long> { epoch + 1, epoch };
        for (var i = 1; i <= _options.Overlap; i++)
        {
            epochs.Add(epoch - i);
        }

        var found = await _storage.GetAsync(epochs, cancellationToken);
        if (found is null)
        {
            return null;
        }

        var stored = new Dictionary<long, byte[]>(found);
        var cached = GetCachedSharedKeys(previous, epoch);
        foreach (var missing in epochs.Where(candidate => !stored.ContainsKey(candidate)))
        {
            var material = await RestoreAsync(missing, epoch, cached, now, cancellationToken);
            if (material is null && missing == epoch)
            {
                return null;
            }

            // An older key that could not be written back still decrypts this node's tickets until it retires.
            if ((material ?? cached.GetValueOrDefault(missing)?.CopyMaterial()) is { } usable)
            {
                stored[missing] = usable;
            }
        }

        var encryption = CreateKey(epoch, stored[epoch], isLocal: false);
        var decryption = new List<TicketKey>();
        if (stored.TryGetValue(epoch + 1, out var next))
        {
            decryption.Add(CreateKey(epoch + 1, next, isLocal: false));
        }

        decryption.Add(encryption);
        for (var i = 1; i <= _options.Overlap; i++)
        {
            if (stored.TryGetValue(epoch - i, out var older))
            {
                decryption.Add(CreateKey(epoch - i, older, isLocal: false));
            }
        }

        // Tickets issued under a local key while the storage was down stay valid on this node until they retire.
        if (previous is not null)
        {
            decryption.AddRange(previous.Decryption.Where(key => key.IsLocal && !IsRetired(key, epoch)));
        }

        return new TicketKeySet(encryption, decryption, isDegraded: false, now);
    }

    /// <summary>
    /// Stores the key of <paramref name="missing"/> again when the storage lost it, for example because Redis
    /// restarted empty, and returns the material that is stored then. A key this node read from the storage before is
    /// offered as it was, so the tickets and destination hints made under it stay valid. Only the current interval
    /// gets new material when no copy is cached. Returns null when nothing is stored for the interval.
    /// </summary>
    private async Task<byte[]?> RestoreAsync(
        long missing,
        long epoch,
        Dictionary<long, TicketKey> cached,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        byte[] candidate;
        if (cached.TryGetValue(missing, out var copy))
        {
            candidate = copy.CopyMaterial();
        }
        else if (missing == epoch)
        {
            candidate = RandomNumberGenerator.GetBytes(TicketKey.MaterialLength);
        }
        else
        {
            return null;
        }

        // Every node offers the same cached bytes and SET NX keeps the first, so the nodes converge on the old key.
        var material = await _storage.GetOrAddAsync(missing, candidate, GetTimeToLive(missing, now), cancellationToken);
        if (copy is not null && material is not null)
        {
            var restored = material.AsSpan().SequenceEqual(candidate);
            Log.CachedKeyRestored(_logger, copy.Id, _storage.Name, restored);
        }

        return material;
    }

    // Only keys read from the storage: a local key has the same interval number as the shared key that other nodes
    // may hold, so writing it back would replace their key.
    private Dictionary<long, TicketKey> GetCachedSharedKeys(TicketKeySet? previous, long epoch)
    {
        var cached = new Dictionary<long, TicketKey>();
        foreach (var key in previous?.Decryption ?? [])
        {
            if (!key.IsLocal && !IsRetired(key, epoch))
            {
                cached.TryAdd(key.Epoch, key);
            }
        }

        return cached;
    }

    // The key outlives its last use by one interval, so a node whose clock lags a little still finds it. A key made
    // in the middle of its interval, or written back later, keeps the same end.
    private TimeSpan GetTimeToLive(long keyEpoch, DateTimeOffset now)
    {
        var validFrom = DateTimeOffset.FromUnixTimeMilliseconds(keyEpoch * (long)_options.RotationInterval.TotalMilliseconds);
        var timeToLive = validFrom + _options.RotationInterval * (_options.Overlap + 2) - now;
        return timeToLive > TimeSpan.FromSeconds(1) ? timeToLive : TimeSpan.FromSeconds(1);
    }

    private TicketKeySet BuildFromCache(long epoch, TicketKeySet? previous, DateTimeOffset now)
    {
        var unretired = previous?.Decryption.Where(key => !IsRetired(key, epoch)).ToList() ?? [];

        // A cached shared key that has not retired is still decrypted by the other nodes, so it is better than a
        // local one. The list is newest first, so this picks the current interval's key when it is cached.
        var encryption = unretired.FirstOrDefault(key => key.Epoch <= epoch && !key.IsLocal)
            ?? unretired.FirstOrDefault(key => key.Epoch <= epoch);

        if (encryption is null)
        {
            encryption = CreateKey(epoch, RandomNumberGenerator.GetBytes(TicketKey.MaterialLength), isLocal: true);
            unretired.Insert(0, encryption);
            Log.LocalKeyCreated(_logger, _storage.Name, encryption.Id);
        }

        return new TicketKeySet(encryption, unretired, isDegraded: true, previous?.RefreshedAt ?? now);
    }

    private TicketKeySet CreateFirstLocalSet()
    {
        var epoch = GetEpoch(_timeProvider.GetUtcNow());
        var key = CreateKey(epoch, RandomNumberGenerator.GetBytes(TicketKey.MaterialLength), isLocal: true);
        var set = new TicketKeySet(key, [key], isDegraded: true, _timeProvider.GetUtcNow());
        return Interlocked.CompareExchange(ref _current, set, null) ?? set;
    }

    private bool IsRetired(TicketKey key, long epoch) => key.Epoch < epoch - _options.Overlap;

    private TicketKey CreateKey(long epoch, byte[] material, bool isLocal) =>
        new(epoch, material, DateTimeOffset.FromUnixTimeMilliseconds(epoch * (long)_options.RotationInterval.TotalMilliseconds), isLocal);

    private void Report(TicketKeySet? previous, TicketKeySet next, DateTimeOffset now)
    {
        var age = now - next.Encryption.ValidFrom;
        if (next.IsDegraded)
        {
            if (previous is null || !previous.IsDegraded || previous.Encryption.Id != next.Encryption.Id)
            {
                Log.Degraded(_logger, _storage.Name, next.Encryption.Id, (long)age.TotalSeconds, next.Decryption.Count);
            }

            return;
        }

        if (previous is { IsDegraded: true })
        {
            Log.Recovered(_logger, _storage.Name, next.Encryption.Id, next.Decryption.Count);
        }
        else if (previous is null || previous.Encryption.Id != next.Encryption.Id)
        {
            Log.Refreshed(_logger, next.Encryption.Id, (long)age.TotalSeconds, next.Decryption.Count,
                string.Join(", ", next.Decryption.Select(key => key.Id)));
        }
    }

    private TimeSpan TimeUntilNextRefresh()
    {
        var now = _timeProvider.GetUtcNow();
        var intervalMilliseconds = (long)_options.RotationInterval.TotalMilliseconds;
        var nextBoundary = DateTimeOffset.FromUnixTimeMilliseconds((GetEpoch(now) + 1) * intervalMilliseconds);
        var untilBoundary = nextBoundary - now;
        return untilBoundary < _options.RefreshInterval ? untilBoundary : _options.RefreshInterval;
    }

    private void OnTimer() => _ = RefreshFromTimerAsync();

    private async Task RefreshFromTimerAsync()
    {
        try
        {
            await RefreshAsync(_stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception exception)
        {
            // The storage reports its own faults and returns null, so this is a bug. Keep the timer alive anyway.
            Log.RefreshFailed(_logger, exception);
        }

        try
        {
            _timer?.Change(TimeUntilNextRefresh(), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed while refreshing.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(TicketKeyEventIds.KeyRingRefreshed, LogLevel.Information,
            "TLS ticket key {KeyId} encrypts new tickets (age {AgeSeconds} s); {AcceptedCount} keys decrypt: {KeyIds}")]
        public static partial void Refreshed(ILogger logger, string keyId, long ageSeconds, int acceptedCount, string keyIds);

        [LoggerMessage(TicketKeyEventIds.KeyRingDegraded, LogLevel.Warning,
            "TLS ticket keys could not be read from the {Storage} store, so this node uses its cached or local keys: " +
            "key {KeyId} (age {AgeSeconds} s) encrypts and {AcceptedCount} keys decrypt. Clients that move to another " +
            "node may need a full handshake until the store answers")]
        public static partial void Degraded(ILogger logger, string storage, string keyId, long ageSeconds, int acceptedCount);

        [LoggerMessage(TicketKeyEventIds.KeyRingLocalKeyCreated, LogLevel.Warning,
            "No usable TLS ticket key is cached and the {Storage} store is unreachable, so this node created local key " +
            "{KeyId}. Other nodes cannot resume sessions from its tickets")]
        public static partial void LocalKeyCreated(ILogger logger, string storage, string keyId);

        [LoggerMessage(TicketKeyEventIds.KeyRingRecovered, LogLevel.Information,
            "TLS ticket keys read from the {Storage} store again: key {KeyId} encrypts and {AcceptedCount} keys decrypt")]
        public static partial void Recovered(ILogger logger, string storage, string keyId, int acceptedCount);

        [LoggerMessage(TicketKeyEventIds.KeyRingRefreshFailed, LogLevel.Error,
            "Refreshing the TLS ticket keys failed unexpectedly; the node keeps its current keys and tries again later")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(TicketKeyEventIds.KeyRingCachedKeyRestored, LogLevel.Warning,
            "TLS ticket key {KeyId} was missing from the {Storage} store, so this node wrote its cached copy back " +
            "(stored: {Restored}; false means another node stored a different key first)")]
        public static partial void CachedKeyRestored(ILogger logger, string keyId, string storage, bool restored);
    }
}
