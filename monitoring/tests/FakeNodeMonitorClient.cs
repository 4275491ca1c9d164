using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

/// <summary>
/// A NodeMonitor client that responds from memory: a status, or a gRPC error. GetCluster returns
/// <paramref name="cluster"/>, or a view with the status as its only member, or Unimplemented like a node that
/// predates the call when <paramref name="withoutCluster"/> is set.
/// </summary>
internal sealed class FakeNodeMonitorClient(
    NodeStatus? status,
    RpcException? failure = null,
    ClusterView? cluster = null,
    bool withoutCluster = false) : NodeMonitor.NodeMonitorClient
{
    public int GetStatusCalls { get; private set; }

    public override AsyncUnaryCall<NodeStatus> GetStatusAsync(GetStatusRequest request, CallOptions options)
    {
        GetStatusCalls++;
        return Respond(failure is null ? Task.FromResult(status!) : Task.FromException<NodeStatus>(failure));
    }

    public override AsyncUnaryCall<ClusterView> GetClusterAsync(GetClusterRequest request, CallOptions options)
    {
        if (withoutCluster)
        {
            return Respond(Task.FromException<ClusterView>(new RpcException(new Status(StatusCode.Unimplemented, ""))));
        }

        if (failure is not null)
        {
            return Respond(Task.FromException<ClusterView>(failure));
        }

        var view = cluster ?? new ClusterView { ReportingNode = status!.NodeName, PeersAvailable = true };
        if (cluster is null)
        {
            view.Members.Add(new ClusterMember { Status = status, Self = true, Age = new Google.Protobuf.WellKnownTypes.Duration() });
        }

        return Respond(Task.FromResult(view));
    }

    private static AsyncUnaryCall<T> Respond<T>(Task<T> response) => new(
        response,
        Task.FromResult(new Metadata()),
        () => response.Exception?.InnerException is RpcException rpc ? rpc.Status : Status.DefaultSuccess,
        () => [],
        () => { });
}
