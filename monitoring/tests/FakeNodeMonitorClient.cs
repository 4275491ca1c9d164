using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

/// <summary>A NodeMonitor client that responds from memory: a status, or a gRPC error.</summary>
internal sealed class FakeNodeMonitorClient(NodeStatus? status, RpcException? failure = null) : NodeMonitor.NodeMonitorClient
{
    public override AsyncUnaryCall<NodeStatus> GetStatusAsync(GetStatusRequest request, CallOptions options)
    {
        var response = failure is null ? Task.FromResult(status!) : Task.FromException<NodeStatus>(failure);
        return new AsyncUnaryCall<NodeStatus>(
            response,
            Task.FromResult(new Metadata()),
            () => failure?.Status ?? Status.DefaultSuccess,
            () => [],
            () => { });
    }
}
