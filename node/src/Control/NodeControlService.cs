using System.Net.Sockets;
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
    /// <summary>
    /// The maximum wait, after this node became backup, for its proxy connections to close before it removes the
    /// virtual addresses. The new master holds them by then, so this only serves hosts that still send here.
    /// </summary>
    public static readonly TimeSpan InFlightTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the proxy listener must have had no open connection before the old master removes the addresses.
    /// Ten periods of a client that sends every 20 ms, as the lab client does; a client that pauses longer between
    /// requests may still reach the old master after the removal.
    /// </summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The maximum wait, after the listener stopped accepting connections, for the open ones to close before the
    /// priority-0 advert goes out anyway. Drained connections close after their current request, so only slow
    /// requests and streams take this long.
    /// </summary>
    public static readonly TimeSpan AdvertWaitTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the closed listener must have had no open connection before the advert. A handshake whose SYN came in
    /// before the filter completes one round trip later, and Kestrel counts its connection only after accepting it,
    /// so this covers clients with a round trip time up to about this long. It is short because a client whose SYN
    /// was dropped waits for it, the new master's Skew_Time and the gratuitous ARP before its retransmission at 1 s.
    /// </summary>
    public static readonly TimeSpan AdvertQuietPeriod = TimeSpan.FromMilliseconds(100);

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

    /// <summary>
    /// Closes the proxy listener to new connections, drains it and runs <paramref name="handOver"/> once no proxy
    /// connection is open. After a completed hand-over the speaker waits up to <see cref="InFlightTimeout"/> for
    /// requests still in flight before it removes the addresses, and the drain ends after that wait.
    /// </summary>
    /// <remarks>
    /// The new master's gratuitous ARP moves every client's ARP entry for the virtual addresses at once, and a
    /// connection to this node that is open at that moment gets its next packets at the new master, which resets it.
    /// So this node first stops accepting connections (<see cref="ProxyListenerGate"/>), lets the open ones finish
    /// their request, and sends the priority-0 advert only then: no connection spans the move. A client whose SYN
    /// was dropped meanwhile retransmits it after about 1 s, by when the new master has the addresses as long as
    /// the wait here plus the new master's Skew_Time is shorter than that.
    /// </remarks>
    private async Task<(VrrpHandOverResult Result, int Drained)> HandOverAsync(string method, VrrpSpeaker speaker, Func<Task<VrrpHandOverResult>> handOver)
    {
        if (!drain.TryBeginHandOver())
        {
            Fail(method, StatusCode.FailedPrecondition,
                "Another switchover or maintenance hand-over is in progress on this node. Wait for it to finish, then check with 'tandemctl status'.");
        }

        var listenerClosed = CloseListener();
        var drained = drain.Begin();
        var ended = 0;
        void EndDrain()
        {
            if (Interlocked.Exchange(ref ended, 1) == 0)
            {
                drain.End();
                OpenListener();
                drain.EndHandOver();
            }
        }

        // Connections that were still open when the advert went out, because the wait below timed out, get the time
        // to finish here. The new master serves everything else by then.
        // NOTE: the listener accepts connections again just before the addresses go, so a host that missed the
        // gratuitous ARP could open a connection in the few milliseconds until 'ip addr del' completes.
        speaker.BeforeHandOverRelease = async () =>
        {
            try
            {
                if (!await drain.WaitForIdleAsync(InFlightTimeout, QuietPeriod, timeProvider, CancellationToken.None))
                {
                    Log.ConnectionsStillOpen(_logger, drain.OpenConnections, drain.RequestsInFlight, (long)InFlightTimeout.TotalMilliseconds);
                }
            }
            finally
            {
                EndDrain();
            }
        };

        VrrpHandOverResult result;
        try
        {
            if (listenerClosed)
            {
                await WaitForClosedListenerAsync();
            }

            result = await handOver();
        }
        catch
        {
            EndDrain();
            throw;
        }

        if (result != VrrpHandOverResult.Completed)
        {
            EndDrain();
        }

        return (result, drained);
    }

    /// <summary>Waits, at most <see cref="AdvertWaitTimeout"/>, until the closed listener has no open connection.</summary>
    private async Task WaitForClosedListenerAsync()
    {
        var start = timeProvider.GetTimestamp();
        var idle = await drain.WaitForIdleAsync(AdvertWaitTimeout, AdvertQuietPeriod, timeProvider, CancellationToken.None);
        var elapsed = (long)timeProvider.GetElapsedTime(start).TotalMilliseconds;
        if (idle)
        {
            Log.ListenerQuiet(_logger, elapsed);
        }
        else
        {
            Log.ConnectionsOpenAtAdvert(_logger, drain.OpenConnections, drain.RequestsInFlight, elapsed);
        }
    }

    /// <summary>Attaches the SYN filter to the proxy listener. Returns false when the node has to go on without it.</summary>
    private bool CloseListener()
    {
        if (listenerGate is null)
        {
            return false;
        }

        try
        {
            return listenerGate.Close();
        }
        catch (SocketException ex)
        {
            // Without the filter the hand-over still works, but connections opened near the move may be reset.
            Log.ListenerCloseFailed(_logger, ex.SocketErrorCode, ex);
            return false;
        }
    }

    private void OpenListener()
    {
        try
        {
            listenerGate?.Open();
        }
        catch (SocketException ex)
        {
            Log.ListenerOpenFailed(_logger, ex.SocketErrorCode, ex);
        }
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

        [LoggerMessage(EventIds.ControlConnectionsStillOpen, LogLevel.Warning,
            "{Connections} proxy connections with {Requests} requests in flight were still open {TimeoutMilliseconds} ms after the hand-over; " +
            "the virtual addresses are removed now, so they may fail")]
        public static partial void ConnectionsStillOpen(ILogger logger, int connections, long requests, long timeoutMilliseconds);

        [LoggerMessage(EventIds.ProxyListenerQuiet, LogLevel.Information,
            "The proxy listener accepts no new connections and had none open {ElapsedMilliseconds} ms later; sending the priority-0 advert")]
        public static partial void ListenerQuiet(ILogger logger, long elapsedMilliseconds);

        [LoggerMessage(EventIds.ProxyConnectionsOpenAtAdvert, LogLevel.Warning,
            "{Connections} proxy connections with {Requests} requests in flight were still open {ElapsedMilliseconds} ms after the listener stopped accepting; " +
            "sending the priority-0 advert anyway, so they may be reset when the new master announces the addresses")]
        public static partial void ConnectionsOpenAtAdvert(ILogger logger, int connections, long requests, long elapsedMilliseconds);

        [LoggerMessage(EventIds.ProxyListenerCloseFailed, LogLevel.Warning,
            "Attaching the SYN filter to the proxy listener failed with {SocketError}; handing over without it, so connections opened during the hand-over may be reset")]
        public static partial void ListenerCloseFailed(ILogger logger, SocketError socketError, Exception exception);

        [LoggerMessage(EventIds.ProxyListenerOpenFailed, LogLevel.Error,
            "Detaching the SYN filter from the proxy listener failed with {SocketError}; the listener drops new connections until the node restarts")]
        public static partial void ListenerOpenFailed(ILogger logger, SocketError socketError, Exception exception);
    }
}
