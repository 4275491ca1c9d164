using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Monitoring.V1;
using Tandem.Node.Logging;
using Tandem.Node.Vrrp;
using Tandem.Vrrp;

namespace Tandem.Node.Monitoring;

/// <summary>
/// Fans node events out to every Watch stream. VRRP state changes arrive as they happen. Backend health, the session
/// store connection and the certificate's days left are polled every <see cref="PollInterval"/>, because YARP raises
/// no event for health.
/// When the node starts to stop, every stream is completed so that Watch calls end at once.
/// </summary>
internal sealed partial class NodeEventHub : IHostedService, IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Events buffered per watcher. A watcher that falls this far behind loses the oldest events.</summary>
    public const int WatcherBufferCapacity = 1024;

    private readonly NodeStatusCollector _collector;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly VrrpHostedService? _vrrp;
    private readonly int _certificateWarningDays;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<Channel<NodeEvent>> _watchers = [];
    private readonly CancellationTokenSource _stopping = new();

    private Dictionary<(string ClusterId, string DestinationId), DestinationHealth> _health = [];
    private StoreConnectionState _storeState;
    private List<string> _degradedReasons = [];
    // Days left at the last warning, by index of the certificate in the configuration.
    private readonly Dictionary<int, int> _certificateDaysWarned = [];
    private bool _completed;
    private Task? _pollLoop;
    private CancellationTokenRegistration _stoppingRegistration;

    public NodeEventHub(
        NodeStatusCollector collector,
        TimeProvider timeProvider,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggerFactory,
        VrrpHostedService? vrrp = null,
        ManagementSettings? management = null)
    {
        _collector = collector;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _vrrp = vrrp;
        _certificateWarningDays = management?.CertificateExpiryWarningDays ?? 14;
        _logger = loggerFactory.CreateLogger("Tandem.Node.Monitoring");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _health = _collector.CollectDestinationHealth();
        _storeState = _collector.CollectStoreConnectionState();
        _degradedReasons = _collector.CollectDegradedReasons();
        if (_vrrp is not null)
        {
            _vrrp.StateChanged += OnStateChanged;
            _vrrp.MaintenanceChanged += OnMaintenanceChanged;
        }

        _stoppingRegistration = _lifetime.ApplicationStopping.Register(CompleteAll);
        _pollLoop = Task.Run(() => PollAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        CompleteAll();
        await _stopping.CancelAsync();
        if (_pollLoop is not null)
        {
            await _pollLoop.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Adds a watcher. Subscribe before taking the snapshot, so no event between the two is lost. After the node
    /// started to stop, the returned reader is already completed.
    /// </summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<NodeEvent>(new BoundedChannelOptions(WatcherBufferCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });

        lock (_lock)
        {
            if (_completed)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _watchers.Add(channel);
            }
        }

        return new Subscription(this, channel);
    }

    public void Publish(NodeEvent nodeEvent)
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(nodeEvent);
            }
        }
    }

    public void Dispose()
    {
        if (_vrrp is not null)
        {
            _vrrp.StateChanged -= OnStateChanged;
            _vrrp.MaintenanceChanged -= OnMaintenanceChanged;
        }

        _stoppingRegistration.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Compares backend health and the store connection with the last poll and publishes each change, and checks the
    /// certificate's expiry.
    /// </summary>
    internal void PollOnce()
    {
        var now = Timestamp.FromDateTimeOffset(_timeProvider.GetUtcNow());
        var health = _collector.CollectDestinationHealth();
        foreach (var (key, current) in health)
        {
            if (_health.TryGetValue(key, out var previous) && previous != current)
            {
                Publish(new NodeEvent
                {
                    Time = now,
                    BackendHealthChanged = new BackendHealthChanged
                    {
                        ClusterId = key.ClusterId,
                        DestinationId = key.DestinationId,
                        Previous = previous,
                        Current = current,
                    },
                });
            }
        }

        _health = health;

        var storeState = _collector.CollectStoreConnectionState();
        if (storeState != _storeState)
        {
            Publish(new NodeEvent
            {
                Time = now,
                SessionStoreConnectivityChanged = new SessionStoreConnectivityChanged
                {
                    Previous = _storeState,
                    Current = storeState,
                    Error = storeState == StoreConnectionState.Disconnected ? _collector.LastStoreError : "",
                },
            });
            _storeState = storeState;
        }

        CheckDegraded(now);
        CheckCertificate(now);
    }

    /// <summary>Publishes <see cref="DegradedChanged"/> and logs when the reasons for being degraded change.</summary>
    private void CheckDegraded(Timestamp now)
    {
        var reasons = _collector.CollectDegradedReasons();
        if (reasons.SequenceEqual(_degradedReasons, StringComparer.Ordinal))
        {
            return;
        }

        _degradedReasons = reasons;
        if (reasons.Count > 0)
        {
            Log.Degraded(_logger, string.Join(", ", reasons));
        }
        else
        {
            Log.DegradedCleared(_logger);
        }

        var change = new DegradedChanged { Degraded = reasons.Count > 0 };
        change.Reasons.AddRange(reasons);
        Publish(new NodeEvent { Time = now, DegradedChanged = change });
    }

    /// <summary>
    /// Publishes <see cref="CertificateExpiring"/> for each certificate when its days left first reach the warning
    /// threshold, then each time they drop by a day, so a watcher sees one event a day instead of one a second.
    /// </summary>
    private void CheckCertificate(Timestamp now)
    {
        var index = 0;
        foreach (var certificate in _collector.CollectCertificates(now.ToDateTimeOffset()))
        {
            CheckCertificate(now, index++, certificate);
        }
    }

    private void CheckCertificate(Timestamp now, int index, CertificateStatus certificate)
    {
        if (certificate.DaysLeft > _certificateWarningDays)
        {
            _certificateDaysWarned.Remove(index);
            return;
        }

        if (_certificateDaysWarned.TryGetValue(index, out var warned) && certificate.DaysLeft >= warned)
        {
            return;
        }

        _certificateDaysWarned[index] = certificate.DaysLeft;
        Log.CertificateExpiring(_logger, certificate.Subject, certificate.NotAfter.ToDateTimeOffset(), certificate.DaysLeft, _certificateWarningDays);
        Publish(new NodeEvent
        {
            Time = now,
            CertificateExpiring = new CertificateExpiring
            {
                Subject = certificate.Subject,
                NotAfter = certificate.NotAfter,
                DaysLeft = certificate.DaysLeft,
                WarningDays = _certificateWarningDays,
            },
        });
    }

    private async Task PollAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(PollInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    PollOnce();
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // One failed poll must not end the watch streams; the next tick tries again.
                    Log.PollFailed(_logger, exception);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private void OnStateChanged(VrrpRouter router, VrrpStateChange change) => Publish(new NodeEvent
    {
        Time = Timestamp.FromDateTimeOffset(change.At),
        StateChanged = new VrrpStateChanged
        {
            Vrid = (uint)change.VirtualRouterId,
            Transition = NodeStatusCollector.ToProto(change),
            Router = router.Name,
        },
    });

    private void OnMaintenanceChanged(VrrpRouter router, VrrpMaintenanceChange change) => Publish(new NodeEvent
    {
        Time = Timestamp.FromDateTimeOffset(change.At),
        MaintenanceChanged = new MaintenanceChanged
        {
            Vrid = (uint)change.VirtualRouterId,
            Maintenance = change.Maintenance,
            Reason = change.Reason,
            Router = router.Name,
        },
    });

    private void CompleteAll()
    {
        lock (_lock)
        {
            _completed = true;
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }

            _watchers.Clear();
        }
    }

    private void Remove(Channel<NodeEvent> channel)
    {
        lock (_lock)
        {
            _watchers.Remove(channel);
        }
    }

    /// <summary>One watcher's events. Disposing it stops the delivery.</summary>
    public sealed class Subscription(NodeEventHub hub, Channel<NodeEvent> channel) : IDisposable
    {
        public ChannelReader<NodeEvent> Reader => channel.Reader;

        public void Dispose() => hub.Remove(channel);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.MonitoringPollFailed, LogLevel.Warning,
            "Polling backend health and the session store for watchers failed; trying again in one second")]
        public static partial void PollFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.CertificateExpiring, LogLevel.Warning,
            "The proxy certificate {Subject} expires at {NotAfter:u}, in {DaysLeft} days (warning from " +
            "{WarningDays} days, Management:CertificateExpiryWarningDays). Replace its files, named by Proxy:CertificatePath " +
            "or a Proxy:Certificates entry, and restart the node")]
        public static partial void CertificateExpiring(ILogger logger, string subject, DateTimeOffset notAfter, int daysLeft, int warningDays);

        [LoggerMessage(EventIds.Degraded, LogLevel.Warning,
            "The node is degraded ({Reasons}) but keeps serving: affinity comes from the local cache and cookie hints, " +
            "and ticket keys from the cached ring, until Redis is reachable again")]
        public static partial void Degraded(ILogger logger, string reasons);

        [LoggerMessage(EventIds.DegradedCleared, LogLevel.Information, "The node is no longer degraded")]
        public static partial void DegradedCleared(ILogger logger);
    }
}
