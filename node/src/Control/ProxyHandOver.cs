using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;
using Tandem.Node.Transport;
using Tandem.Vrrp;

namespace Tandem.Node.Control;

/// <summary>
/// The proxy's part of one hand-over of the Master state: the listener closes to new connections, the open ones are
/// drained before the priority-0 advert, and both end after the speaker's wait before it removes the addresses. The
/// caller claims the drain with <see cref="ProxyConnectionDrain.TryBeginHandOver"/> first.
/// </summary>
internal sealed partial class ProxyHandOver(ProxyConnectionDrain drain, ProxyListenerGate? listenerGate, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>
    /// The maximum wait, after this node became backup, for its proxy connections to close before it removes the
    /// virtual addresses. The new master holds them by then, so this only serves hosts that still send here.
    /// </summary>
    public static readonly TimeSpan InFlightTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the proxy listener must have had no open connection before the old master removes the addresses.
    /// The SYN filter keeps new connections out until then. Where it could not be attached, this is ten periods of a
    /// client that sends every 20 ms, as the lab client does, and a client that pauses longer may still reach the old
    /// master after the removal.
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
    /// <param name="setBeforeRelease">Stores the wait that the speaker runs before it removes the addresses.</param>
    /// <param name="handOver">Sends the priority-0 advert and completes with the hand-over's outcome.</param>
    public async Task<(VrrpHandOverResult Result, int Drained)> RunAsync(Action<Func<Task>> setBeforeRelease, Func<Task<VrrpHandOverResult>> handOver)
    {
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
        setBeforeRelease(async () =>
        {
            try
            {
                if (!await drain.WaitForIdleAsync(InFlightTimeout, QuietPeriod, timeProvider, CancellationToken.None))
                {
                    Log.ConnectionsStillOpen(logger, drain.OpenConnections, drain.RequestsInFlight, (long)InFlightTimeout.TotalMilliseconds);
                }
            }
            finally
            {
                EndDrain();
            }
        });

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
            Log.ListenerQuiet(logger, elapsed);
        }
        else
        {
            Log.ConnectionsOpenAtAdvert(logger, drain.OpenConnections, drain.RequestsInFlight, elapsed);
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
            Log.ListenerCloseFailed(logger, ex.SocketErrorCode, ex);
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
            Log.ListenerOpenFailed(logger, ex.SocketErrorCode, ex);
        }
    }

    private static partial class Log
    {
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
