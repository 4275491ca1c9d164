using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Node.Monitoring;

/// <summary>The <c>tandem.monitoring.v1.NodeMonitor</c> gRPC service.</summary>
internal sealed class NodeMonitorService(
    NodeStatusCollector collector,
    NodeEventHub hub,
    ClusterViewBuilder clusterView,
    TimeProvider timeProvider)
    : NodeMonitor.NodeMonitorBase
{
    public override Task<NodeStatus> GetStatus(GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(collector.Collect());

    public override Task<ClusterView> GetCluster(GetClusterRequest request, ServerCallContext context) =>
        clusterView.BuildAsync(context.CancellationToken);

    public override async Task Watch(WatchRequest request, IServerStreamWriter<NodeEvent> responseStream, ServerCallContext context)
    {
        using var subscription = hub.Subscribe();
        await responseStream.WriteAsync(new NodeEvent
        {
            Time = Timestamp.FromDateTimeOffset(timeProvider.GetUtcNow()),
            Snapshot = collector.Collect(),
        }, context.CancellationToken);

        // The hub completes the reader when the node starts to stop, which ends the call with status OK.
        await foreach (var nodeEvent in subscription.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(nodeEvent, context.CancellationToken);
        }
    }
}
