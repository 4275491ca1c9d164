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
        var routers = SelectRouters(nameof(Switchover), request.Router);
        var masters = routers.Where(router => router.State == Tandem.Vrrp.VrrpState.Master).ToList();
        if (masters.Count == 0)
        {
            Fail(nameof(Switchover), StatusCode.FailedPrecondition, DescribeNotMaster(routers));
        }

        var client = Client(context);
        Log.SwitchoverRequested(_logger, client, Names(masters));
        var start = timeProvider.GetTimestamp();
        var (results, drained) = await HandOverAsync(nameof(Switchover), masters, router => router.Speaker.HandOverAsync($"switchover requested by {client}"));
        var elapsed = timeProvider.GetElapsedTime(start);
        ThrowIfFailed(nameof(Switchover), masters, results);

        var newMaster = masters[0].Speaker.MasterHeard?.Address.ToString() ?? "";
        Log.SwitchoverCompleted(_logger, Names(masters), newMaster, (long)elapsed.TotalMilliseconds, drained);
        metrics.OnCompleted(nameof(Switchover), "ok");
        var response = new SwitchoverResponse
        {
            NewMaster = newMaster,
            Elapsed = Duration.FromTimeSpan(elapsed),
            ConnectionsDrained = (uint)drained,
        };
        response.Routers.AddRange(masters.Select(router => router.Name));
        return response;
    }

    public override async Task<SetMaintenanceResponse> SetMaintenance(SetMaintenanceRequest request, ServerCallContext context)
    {
        var routers = SelectRouters(nameof(SetMaintenance), request.Router);
        var client = Client(context);
        var response = new SetMaintenanceResponse();
        var changed = new List<VrrpRouter>();
        if (!request.Enabled)
        {
            changed.AddRange(routers.Where(router => router.Speaker.Resume($"maintenance ended by {client}")));
        }
        else
        {
            var entering = routers.Where(router => !router.Speaker.InMaintenance).ToList();
            var masters = entering.Where(router => router.State == Tandem.Vrrp.VrrpState.Master).ToList();
            foreach (var router in entering.Except(masters))
            {
                var result = await router.Speaker.EnterMaintenanceAsync($"maintenance requested by {client}");
                ThrowIfFailed(nameof(SetMaintenance), [router], [result]);
                changed.Add(router);
            }

            if (masters.Count > 0)
            {
                var (results, _) = await HandOverAsync(nameof(SetMaintenance), masters, router => router.Speaker.EnterMaintenanceAsync($"maintenance requested by {client}"));
                ThrowIfFailed(nameof(SetMaintenance), masters, results);
                changed.AddRange(masters);
                response.HandedOver = true;
                response.NewMaster = masters[0].Speaker.MasterHeard?.Address.ToString() ?? "";
            }
        }

        response.Changed = changed.Count > 0;
        response.Routers.AddRange(changed.Select(router => router.Name));
        response.State = NodeStatusCollector.ToProto((changed.Count > 0 ? changed[0] : routers[0]).State);
        Log.MaintenanceSet(_logger, client, request.Enabled, Names(routers), response.Changed);
        metrics.OnCompleted(nameof(SetMaintenance), "ok");
        return response;
    }

    /// <summary>
    /// Hands <paramref name="routers"/> over at once. When the node is master of no other router afterwards, the
    /// hand-over runs inside a <see cref="ProxyHandOver"/>, which claims the drain, closes the proxy listener and
    /// drains it; otherwise the listener keeps serving the other routers' addresses.
    /// </summary>
    private async Task<(VrrpHandOverResult[] Results, int Drained)> HandOverAsync(
        string method,
        IReadOnlyList<VrrpRouter> routers,
        Func<VrrpRouter, Task<VrrpHandOverResult>> handOver)
    {
        var results = new VrrpHandOverResult[routers.Count];
        async Task<VrrpHandOverResult> HandOverAllAsync()
        {
            var completed = await Task.WhenAll(routers.Select(handOver));
            completed.CopyTo(results, 0);
            return completed.FirstOrDefault(result => result != VrrpHandOverResult.Completed, VrrpHandOverResult.Completed);
        }

        var keepsServing = vrrp!.Routers.Any(router => !routers.Contains(router) && router.State == Tandem.Vrrp.VrrpState.Master);
        if (keepsServing)
        {
            // NOTE: the proxy listener stays open for the routers this node still holds, so a connection to a
            // handed-over address that is open when the new master announces it may be reset.
            await HandOverAllAsync();
            return (results, 0);
        }

        if (!drain.TryBeginHandOver())
        {
            Fail(method, StatusCode.FailedPrecondition,
                "Another switchover or maintenance hand-over is in progress on this node. Wait for it to finish, then check with 'tandemctl status'.");
        }

        var proxyHandOver = new ProxyHandOver(drain, listenerGate, timeProvider, _logger);
        var (_, drained) = await proxyHandOver.RunAsync(
            hook =>
            {
                foreach (var router in routers)
                {
                    router.Speaker.BeforeHandOverRelease = hook;
                }
            },
            HandOverAllAsync);
        return (results, drained);
    }

    /// <summary>Returns the router named <paramref name="name"/>, or every router when it is empty.</summary>
    private IReadOnlyList<VrrpRouter> SelectRouters(string method, string name)
    {
        if (vrrp is not { Routers.Count: > 0 })
        {
            Fail(method, StatusCode.FailedPrecondition,
                "VRRP is off on this node (Vrrp:Interface is empty), so it is never master and has no maintenance " +
                "mode. Set Vrrp:Interface and the other Vrrp settings to run it in a cluster.");
        }

        if (string.IsNullOrEmpty(name))
        {
            return vrrp.Routers;
        }

        if (vrrp.FindRouter(name) is { } router)
        {
            return [router];
        }

        Fail(method, StatusCode.NotFound,
            $"This node has no virtual router named '{name}'. Its routers are: {Names(vrrp.Routers)}. Leave the name " +
            "empty to act on all of them.");
        return [];
    }

    private void ThrowIfFailed(string method, IReadOnlyList<VrrpRouter> routers, IReadOnlyList<VrrpHandOverResult> results)
    {
        for (var i = 0; i < routers.Count; i++)
        {
            var router = routers[i];
            switch (results[i])
            {
                case VrrpHandOverResult.Completed:
                    continue;
                case VrrpHandOverResult.NotMaster:
                    Fail(method, StatusCode.FailedPrecondition,
                        $"Router {router.Name} stopped being master before the hand-over started. {DescribeMaster(router)}");
                    break;
                case VrrpHandOverResult.NoBackupTookOver:
                    Fail(method, StatusCode.FailedPrecondition,
                        $"No backup of router {router.Name} (VRID {router.Options.VirtualRouterId}) took over within " +
                        "Master_Down_Interval after this node's priority-0 advert, so this node stays master of it and it is " +
                        "not in maintenance. Check with 'tandemctl status' that another node runs, is backup for the same " +
                        "VRID and is not in maintenance itself.");
                    break;
                case VrrpHandOverResult.Stopped:
                    Fail(method, StatusCode.Unavailable, "The node is stopping, so it no longer takes control calls.");
                    break;
                default:
                    throw new NotSupportedException($"Unknown hand-over result {results[i]}.");
            }
        }
    }

    private static string DescribeNotMaster(IReadOnlyList<VrrpRouter> routers) => routers.Count == 1
        ? $"This node is {routers[0].State} for router {routers[0].Name}, not master, so it has nothing to hand over. {DescribeMaster(routers[0])}"
        : $"This node is master of none of its routers ({Names(routers)}), so it has nothing to hand over. Run 'tandemctl status' to find the masters.";

    private static string DescribeMaster(VrrpRouter router) => router.Speaker.MasterHeard is { } heard
        ? $"The master is {heard.Address} (priority {heard.Priority}); run the call there."
        : "No master has been heard yet; run 'tandemctl status' on the other nodes to find it.";

    private static string Names(IEnumerable<VrrpRouter> routers) => string.Join(", ", routers.Select(router => router.Name));

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
            "Switchover requested by {Client}: handing the Master state of routers {Routers} over")]
        public static partial void SwitchoverRequested(ILogger logger, string client, string routers);

        [LoggerMessage(EventIds.SwitchoverCompleted, LogLevel.Information,
            "Switchover of routers {Routers} completed: {NewMaster} took over {ElapsedMilliseconds} ms after the request, {Drained} proxy connections were drained")]
        public static partial void SwitchoverCompleted(ILogger logger, string routers, string newMaster, long elapsedMilliseconds, int drained);

        [LoggerMessage(EventIds.MaintenanceSet, LogLevel.Information,
            "Maintenance {Enabled} requested by {Client} for routers {Routers}; changed: {Changed}")]
        public static partial void MaintenanceSet(ILogger logger, string client, bool enabled, string routers, bool changed);

        [LoggerMessage(EventIds.ControlCallFailed, LogLevel.Warning, "{Method} failed with {Code}: {Message}")]
        public static partial void CallFailed(ILogger logger, string method, StatusCode code, string message);
    }
}
