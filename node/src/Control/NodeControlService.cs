using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tandem.Monitoring.V1;
using Tandem.Node.Logging;
using Tandem.Node.Monitoring;
using Tandem.Node.Transport;
using Tandem.Node.Vrrp;
using Tandem.Vrrp;

namespace Tandem.Node.Control;

/// <summary>The bearer token, or null when <c>Management:ControlTokenFile</c> is not set and control calls are off.</summary>
internal sealed record ControlAccess(ControlToken? Token);

/// <summary>
/// The <c>tandem.monitoring.v1.NodeControl</c> gRPC service: planned switchover and maintenance mode. Callers have
/// passed AllowedNetworksInterceptor and ControlAuthenticationInterceptor.
/// </summary>
internal sealed partial class NodeControlService(
    ProxyConnectionDrain drain,
    ControlMetrics metrics,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    VrrpHostedService? vrrp = null,
    ProxyListenerGate? listenerGate = null) : NodeControl.NodeControlBase
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Tandem.Node.Control");

    public override async Task<SwitchoverResponse> Switchover(SwitchoverRequest request, ServerCallContext context)
    {
        var speaker = RequireSpeaker(nameof(Switchover));
        if (speaker.State != Tandem.Vrrp.VrrpState.Master)
        {
            Fail(nameof(Switchover), StatusCode.FailedPrecondition,
                $"This node is {speaker.State}, not master, so it has nothing to hand over. {DescribeMaster(speaker)}");
        }

        var client = Client(context);
        Log.SwitchoverRequested(_logger, client);
        var start = timeProvider.GetTimestamp();
        var (result, drained) = await HandOverAsync(nameof(Switchover), speaker, () => speaker.HandOverAsync($"switchover requested by {client}"));
        var elapsed = timeProvider.GetElapsedTime(start);
        ThrowIfFailed(nameof(Switchover), result, speaker);

        var newMaster = speaker.MasterHeard?.Address.ToString() ?? "";
        Log.SwitchoverCompleted(_logger, newMaster, (long)elapsed.TotalMilliseconds, drained);
        metrics.OnCompleted(nameof(Switchover), "ok");
        return new SwitchoverResponse
        {
            NewMaster = newMaster,
            Elapsed = Duration.FromTimeSpan(elapsed),
            ConnectionsDrained = (uint)drained,
        };
    }

    public override async Task<SetMaintenanceResponse> SetMaintenance(SetMaintenanceRequest request, ServerCallContext context)
    {
        var speaker = RequireSpeaker(nameof(SetMaintenance));
        var client = Client(context);
        var response = new SetMaintenanceResponse();
        if (!request.Enabled)
        {
            response.Changed = speaker.Resume($"maintenance ended by {client}");
        }
        else if (speaker.InMaintenance)
        {
            response.Changed = false;
        }
        else if (speaker.State == Tandem.Vrrp.VrrpState.Master)
        {
            var (result, _) = await HandOverAsync(nameof(SetMaintenance), speaker, () => speaker.EnterMaintenanceAsync($"maintenance requested by {client}"));
            ThrowIfFailed(nameof(SetMaintenance), result, speaker);
            response.Changed = true;
            response.HandedOver = true;
            response.NewMaster = speaker.MasterHeard?.Address.ToString() ?? "";
        }
        else
        {
            var result = await speaker.EnterMaintenanceAsync($"maintenance requested by {client}");
            ThrowIfFailed(nameof(SetMaintenance), result, speaker);
            response.Changed = true;
        }

        response.State = NodeStatusCollector.ToProto(speaker.State);
        Log.MaintenanceSet(_logger, client, request.Enabled, response.Changed);
        metrics.OnCompleted(nameof(SetMaintenance), "ok");
        return response;
    }

    /// <summary>Claims the drain for one hand-over and runs it with <see cref="ProxyHandOver"/>.</summary>
    private async Task<(VrrpHandOverResult Result, int Drained)> HandOverAsync(string method, VrrpSpeaker speaker, Func<Task<VrrpHandOverResult>> handOver)
    {
        if (!drain.TryBeginHandOver())
        {
            Fail(method, StatusCode.FailedPrecondition,
                "Another switchover or maintenance hand-over is in progress on this node. Wait for it to finish, then check with 'tandemctl status'.");
        }

        var proxyHandOver = new ProxyHandOver(drain, listenerGate, timeProvider, _logger);
        return await proxyHandOver.RunAsync(hook => speaker.BeforeHandOverRelease = hook, handOver);
    }

    private VrrpSpeaker RequireSpeaker(string method)
    {
        if (vrrp?.Speaker is { } speaker)
        {
            return speaker;
        }

        Fail(method, StatusCode.FailedPrecondition,
            "VRRP is off on this node (Vrrp:Interface is empty) or has not started, so it is never master and has no " +
            "maintenance mode. Set Vrrp:Interface and the other Vrrp settings to run it in a cluster.");
        return null;
    }

    private void ThrowIfFailed(string method, VrrpHandOverResult result, VrrpSpeaker speaker)
    {
        switch (result)
        {
            case VrrpHandOverResult.Completed:
                return;
            case VrrpHandOverResult.NotMaster:
                Fail(method, StatusCode.FailedPrecondition,
                    $"This node stopped being master before the hand-over started. {DescribeMaster(speaker)}");
                break;
            case VrrpHandOverResult.NoBackupTookOver:
                Fail(method, StatusCode.FailedPrecondition,
                    "No backup took over within Master_Down_Interval after this node's priority-0 advert, so this node " +
                    "stays master and is not in maintenance. Check with 'tandemctl status' that another node runs, is " +
                    "backup for the same VRID and is not in maintenance itself.");
                break;
            case VrrpHandOverResult.Stopped:
                Fail(method, StatusCode.Unavailable, "The node is stopping, so it no longer takes control calls.");
                break;
            default:
                throw new NotSupportedException($"Unknown hand-over result {result}.");
        }
    }

    private static string DescribeMaster(VrrpSpeaker speaker) => speaker.MasterHeard is { } heard
        ? $"The master is {heard.Address} (priority {heard.Priority}); run the call there."
        : "No master has been heard yet; run 'tandemctl status' on the other nodes to find it.";

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string method, StatusCode code, string message)
    {
        metrics.OnCompleted(method, code.ToString());
        Log.CallFailed(_logger, method, code, message);
        throw new RpcException(new Status(code, message));
    }

    private static string Client(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static partial class Log
    {
        [LoggerMessage(EventIds.SwitchoverRequested, LogLevel.Information,
            "Switchover requested by {Client}: draining the proxy connections and handing the Master state over")]
        public static partial void SwitchoverRequested(ILogger logger, string client);

        [LoggerMessage(EventIds.SwitchoverCompleted, LogLevel.Information,
            "Switchover completed: {NewMaster} took over {ElapsedMilliseconds} ms after the request, {Drained} proxy connections were drained")]
        public static partial void SwitchoverCompleted(ILogger logger, string newMaster, long elapsedMilliseconds, int drained);

        [LoggerMessage(EventIds.MaintenanceSet, LogLevel.Information,
            "Maintenance {Enabled} requested by {Client}; changed: {Changed}")]
        public static partial void MaintenanceSet(ILogger logger, string client, bool enabled, bool changed);

        [LoggerMessage(EventIds.ControlCallFailed, LogLevel.Warning, "{Method} failed with {Code}: {Message}")]
        public static partial void CallFailed(ILogger logger, string method, StatusCode code, string message);
    }
}
