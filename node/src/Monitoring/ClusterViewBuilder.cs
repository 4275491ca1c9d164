using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Tandem.Monitoring.V1;
using Tandem.Node.Logging;
using Tandem.SessionStore;

namespace Tandem.Node.Monitoring;

/// <summary>
/// Builds the <see cref="ClusterView"/>: this node's live status plus every other node's last heartbeat, and the
/// masters of each virtual router.
/// </summary>
internal sealed partial class ClusterViewBuilder(
    NodeStatusCollector collector,
    ClusterHeartbeatService heartbeats,
    ManagementMetrics metrics,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory)
{
    private static readonly TimeSpan RejectionLogInterval = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Tandem.Node.Monitoring");
    private readonly Dictionary<string, long> _lastRejectionLog = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Reads the heartbeats; with the store unavailable the view contains only this node.</summary>
    public async Task<ClusterView> BuildAsync(CancellationToken cancellationToken)
    {
        var own = collector.Collect();
        var read = heartbeats.Store is { } store
            ? await store.ReadAllAsync(cancellationToken)
            : HeartbeatRead.Unavailable("the session store is still connecting");

        var view = new ClusterView
        {
            ReportingNode = own.NodeName,
            Time = own.Time,
            PeersAvailable = read.Available,
            PeersError = read.Error ?? "",
            HeartbeatIntervalMs = (uint)heartbeats.Interval.TotalMilliseconds,
        };

        view.Members.Add(new ClusterMember { Status = own, Age = Duration.FromTimeSpan(TimeSpan.Zero), Self = true });
        foreach (var heartbeat in read.Heartbeats)
        {
            // This node's own heartbeat is older than the live status above.
            if (heartbeat.NodeName == own.NodeName)
            {
                continue;
            }

            NodeStatus status;
            try
            {
                status = NodeStatus.Parser.ParseFrom(heartbeat.Payload.Span);
            }
            catch (InvalidProtocolBufferException exception)
            {
                // Another writer under the same key prefix, or a corrupted value: skip it instead of failing the call.
                OnHeartbeatRejected(heartbeat.NodeName, exception);
                continue;
            }

            view.Members.Add(new ClusterMember
            {
                Status = status,
                Age = Duration.FromTimeSpan(heartbeat.Age),
                Stale = IsStale(heartbeat.Age, heartbeats.Interval),
            });
        }

        view.VirtualRouters.AddRange(FindMasters(view.Members));
        return view;
    }

    /// <summary>Counts every rejected heartbeat, and logs one per node and 30 seconds because each call reads them again.</summary>
    private void OnHeartbeatRejected(string nodeName, InvalidProtocolBufferException exception)
    {
        metrics.OnHeartbeatRejected();
        var now = timeProvider.GetTimestamp();
        lock (_lock)
        {
            if (_lastRejectionLog.TryGetValue(nodeName, out var last) && timeProvider.GetElapsedTime(last, now) < RejectionLogInterval)
            {
                return;
            }

            _lastRejectionLog[nodeName] = now;
        }

        Log.HeartbeatInvalid(_logger, nodeName, exception.Message);
    }

    /// <summary>True when a heartbeat is more than two intervals old, so at least one heartbeat is missing.</summary>
    internal static bool IsStale(TimeSpan age, TimeSpan interval) => age > 2 * interval;

    /// <summary>
    /// Lists the masters of every virtual router that a current member reports, by VRID and router name, ignoring
    /// stale members: a node killed while master keeps saying so in its last heartbeat until the heartbeat expires.
    /// </summary>
    internal static IEnumerable<VirtualRouterMastership> FindMasters(IEnumerable<ClusterMember> members)
    {
        var byRouter = new SortedDictionary<(uint Vrid, string Name), List<string>>(
            Comparer<(uint Vrid, string Name)>.Create((left, right) =>
                left.Vrid != right.Vrid ? left.Vrid.CompareTo(right.Vrid) : string.CompareOrdinal(left.Name, right.Name)));
        foreach (var member in members.Where(m => !m.Stale))
        {
            foreach (var router in member.Status.VirtualRouters)
            {
                var key = (router.Vrid, router.Name);
                if (!byRouter.TryGetValue(key, out var masters))
                {
                    masters = [];
                    byRouter[key] = masters;
                }

                if (router.State == VrrpState.Master)
                {
                    masters.Add(member.Status.NodeName);
                }
            }
        }

        foreach (var ((vrid, name), masters) in byRouter)
        {
            masters.Sort(StringComparer.Ordinal);
            var mastership = new VirtualRouterMastership
            {
                Vrid = vrid,
                Name = name,
                Mastership = masters.Count switch
                {
                    0 => Mastership.NoMaster,
                    1 => Mastership.OneMaster,
                    _ => Mastership.MultipleMasters,
                },
            };
            mastership.Masters.AddRange(masters);
            yield return mastership;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HeartbeatInvalid, LogLevel.Warning,
            "The heartbeat of node {NodeName} in the session store is not a NodeStatus ({Error}), so the cluster view " +
            "leaves it out. Check that no other program writes under SessionStore:KeyPrefix")]
        public static partial void HeartbeatInvalid(ILogger logger, string nodeName, string error);
    }
}
