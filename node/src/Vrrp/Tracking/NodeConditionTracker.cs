using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;
using Tandem.Vrrp.Tracking;

namespace Tandem.Node.Vrrp.Tracking;

/// <summary>
/// Checks the tracked conditions that only the node can observe (<c>listener</c>, <c>pool:</c>, <c>store</c>) every
/// <c>Vrrp:TrackIntervalMilliseconds</c> of their router and reports them to the router's speaker, which lowers its
/// priority or enters fault. The speaker checks <c>link:</c> and <c>file:</c> conditions itself.
/// </summary>
/// <remarks>
/// It must be registered before <see cref="VrrpHostedService"/>: its <see cref="StartedAsync"/> then runs the first
/// check before any speaker starts, so an owner whose pool is empty never claims the addresses.
/// </remarks>
internal sealed partial class NodeConditionTracker : IHostedLifecycleService, IDisposable
{
    private readonly IReadOnlyList<VrrpRouter> _routers;
    private readonly NodeConditionSources _sources;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly List<ITimer> _timers = [];
    private volatile bool _started;

    public NodeConditionTracker(IReadOnlyList<VrrpRouter> routers, NodeConditionSources sources, TimeProvider timeProvider, ILogger logger)
    {
        _routers = routers;
        _sources = sources;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Checks every node condition of every router once.</summary>
    public void CheckAll()
    {
        foreach (var router in _routers)
        {
            Check(router);
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        // Every StartAsync has returned by now, Kestrel's included, so the proxy listener accepts connections.
        _started = true;
        foreach (var router in _routers)
        {
            if (!router.Speaker.TrackedConditions.Any(IsNodeCondition))
            {
                continue;
            }

            Check(router);
            var interval = TimeSpan.FromMilliseconds(router.Options.TrackIntervalMilliseconds);
            _timers.Add(_timeProvider.CreateTimer(_ => Check(router), null, interval, interval));
        }

        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        // The speakers stop now too; a check during the shutdown would only report the listener closing.
        Dispose();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var timer in _timers)
        {
            timer.Dispose();
        }

        _timers.Clear();
    }

    private static bool IsNodeCondition(TrackedCondition condition) =>
        condition.Kind is TrackedConditionKind.Listener or TrackedConditionKind.Pool or TrackedConditionKind.Store;

    private void Check(VrrpRouter router)
    {
        foreach (var condition in router.Speaker.TrackedConditions)
        {
            if (!IsNodeCondition(condition))
            {
                continue;
            }

            ConditionCheck check;
            try
            {
                check = condition.Kind switch
                {
                    TrackedConditionKind.Listener => _sources.Listener(_started),
                    TrackedConditionKind.Pool => _sources.Pool(condition.Argument),
                    TrackedConditionKind.Store => _sources.Store(),
                    _ => throw new NotSupportedException($"Tracked condition kind {condition.Kind} is not checked by the node."),
                };
            }
            catch (Exception ex)
            {
                // A check that throws cannot vouch for the condition, so it counts as failed until a check succeeds.
                Log.CheckFailed(_logger, router.Name, condition.Name, ex);
                check = new ConditionCheck(true, $"check failed: {ex.Message}");
            }

            condition.SetFailed(check.Failed, check.Detail);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.VrrpTrackCheckFailed, LogLevel.Error,
            "VRRP router {Router} could not check tracked condition {Condition}, so it counts as failed")]
        public static partial void CheckFailed(ILogger logger, string router, string condition, Exception exception);
    }
}
