using System.Diagnostics.Metrics;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;

namespace Tandem.Node.Monitoring;

/// <summary>Rejects NodeMonitor calls from clients outside <c>Management:AllowedNetworks</c> with PERMISSION_DENIED.</summary>
internal sealed partial class AllowedNetworksInterceptor(ManagementSettings settings, ManagementMetrics metrics, ILoggerFactory loggerFactory)
    : Interceptor
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Tandem.Node.Monitoring");

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var client = context.GetHttpContext().Connection.RemoteIpAddress;
        if (settings.IsAllowed(client))
        {
            return;
        }

        metrics.OnCallDenied();
        Log.CallDenied(_logger, context.Method, client?.ToString() ?? "unknown");
        throw new RpcException(new Status(
            StatusCode.PermissionDenied,
            $"The client address {client} is not in Management:AllowedNetworks of this node. " +
            "Add the client's network to Management:AllowedNetworks and restart the node."));
    }

    private static partial class Log
    {
        // Debug, because any host that reaches the port can cause it; the denied-call metric counts every one.
        [LoggerMessage(EventIds.ManagementCallDenied, LogLevel.Debug,
            "Denied {Method} from {Client}: the address is not in Management:AllowedNetworks")]
        public static partial void CallDenied(ILogger logger, string method, string client);
    }
}
