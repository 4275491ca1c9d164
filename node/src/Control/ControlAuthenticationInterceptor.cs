using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;

namespace Tandem.Node.Control;

/// <summary>
/// Rejects NodeControl calls without the bearer token from <c>Management:ControlTokenFile</c>. It runs after
/// AllowedNetworksInterceptor, so a caller outside Management:AllowedNetworks gets PERMISSION_DENIED first.
/// </summary>
internal sealed partial class ControlAuthenticationInterceptor(ControlAccess access, ControlMetrics metrics, ILoggerFactory loggerFactory)
    : Interceptor
{
    private const string BearerPrefix = "Bearer ";

    private readonly ILogger _logger = loggerFactory.CreateLogger("Tandem.Node.Control");

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        var client = context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var token = access.Token;
        if (token is null)
        {
            Reject(context, client, "no_token_configured", new Status(
                StatusCode.FailedPrecondition,
                $"Control calls are off on this node because {ControlToken.SettingName} is not set. Write a token to a " +
                $"file readable only by the node's user, set {ControlToken.SettingName} to its path and restart the node."));
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            Reject(context, client, "missing_credentials", new Status(
                StatusCode.Unauthenticated,
                "The call has no bearer token. Send the metadata 'authorization: Bearer TOKEN' with the token from " +
                $"the node's {ControlToken.SettingName}, for example with tandemctl --token-file."));
        }

        if (!token.Matches(header[BearerPrefix.Length..].Trim()))
        {
            Reject(context, client, "wrong_token", new Status(
                StatusCode.Unauthenticated,
                $"The bearer token does not match the node's {ControlToken.SettingName}. Check that the client reads " +
                "the same token file as this node, which reads it only at startup."));
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Reject(ServerCallContext context, string client, string reason, Status status)
    {
        metrics.OnRejected(reason);
        Log.CallRejected(_logger, context.Method, client, reason);
        throw new RpcException(status);
    }

    private static partial class Log
    {
        // Warning, because every rejection from inside Management:AllowedNetworks is either a misconfigured client or
        // someone guessing tokens. The token is never logged, only the reason.
        [LoggerMessage(EventIds.ControlCallRejected, LogLevel.Warning,
            "Rejected {Method} from {Client}: {Reason}")]
        public static partial void CallRejected(ILogger logger, string method, string client, string reason);
    }
}
