using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Tandem.Node.Control;

/// <summary>
/// Drains the proxy listener before a planned switchover: every open connection is asked to close after its current
/// request, and while draining, every response carries <c>Connection: close</c> (HTTP/1.1) or is followed by GOAWAY (HTTP/2).
/// Clients then open their next connection to the virtual address afresh, which reaches the new master once it holds
/// the address, instead of reusing one to the old master that breaks when the address moves.
/// </summary>
/// <remarks>
/// Kestrel's <see cref="IConnectionLifetimeNotificationFeature.RequestClose"/> ends an HTTP/1.1 connection after the
/// response in progress and sends GOAWAY on HTTP/2, so requests already sent are served. The connections are tracked
/// by a connection middleware on the proxy listener, and requests in flight by an HTTP middleware.
/// </remarks>
internal sealed class ProxyConnectionDrain
{
    private readonly ConcurrentDictionary<string, IConnectionLifetimeNotificationFeature?> _connections = new();
    private long _requestsInFlight;
    private int _drainers;
    private int _handOverRunning;

    /// <summary>True between <see cref="Begin"/> and the matching <see cref="End"/>.</summary>
    public bool Draining => Volatile.Read(ref _drainers) > 0;

    public int OpenConnections => _connections.Count;

    public long RequestsInFlight => Interlocked.Read(ref _requestsInFlight);

    /// <summary>Starts draining and requests every open connection to close. Returns the number of open connections.</summary>
    public int Begin()
    {
        Interlocked.Increment(ref _drainers);
        var asked = 0;
        foreach (var feature in _connections.Values)
        {
            feature?.RequestClose();
            asked++;
        }

        return asked;
    }

    /// <summary>Ends one <see cref="Begin"/>; connections are kept alive again once every drainer ended.</summary>
    public void End() => Interlocked.Decrement(ref _drainers);

    /// <summary>Claims the right to run a hand-over. Returns false while another one runs.</summary>
    public bool TryBeginHandOver() => Interlocked.CompareExchange(ref _handOverRunning, 1, 0) == 0;

    public void EndHandOver() => Volatile.Write(ref _handOverRunning, 0);

    /// <summary>
    /// Waits until no proxy connection has been open for <paramref name="quietPeriod"/>, checking every 10 ms, for at
    /// most <paramref name="timeout"/>. Returns false when the listener was not quiet by then.
    /// </summary>
    /// <remarks>
    /// Open connections rather than requests, because a connection still in its TLS handshake has no request yet but
    /// breaks all the same when the address goes. The quiet period covers the gaps between one client's requests:
    /// while draining every connection closes after one request, so the count drops to zero between requests even
    /// while clients still send here.
    /// </remarks>
    public async Task<bool> WaitForIdleAsync(TimeSpan timeout, TimeSpan quietPeriod, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetTimestamp();
        var quietSince = start;
        while (true)
        {
            var now = timeProvider.GetTimestamp();
            if (OpenConnections > 0 || RequestsInFlight > 0)
            {
                quietSince = now;
            }
            else if (timeProvider.GetElapsedTime(quietSince, now) >= quietPeriod)
            {
                return true;
            }

            if (timeProvider.GetElapsedTime(start, now) >= timeout)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), timeProvider, cancellationToken);
        }
    }

    /// <summary>The connection middleware: tracks the connection while it is open.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var feature = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        _connections[connection.ConnectionId] = feature;
        try
        {
            // A connection accepted while draining is not asked to close here: Kestrel would close it before its
            // first request, which the client sees as a failure. The HTTP middleware ends it after that request.
            await next(connection);
        }
        finally
        {
            _connections.TryRemove(connection.ConnectionId, out _);
        }
    }

    private static void MarkLastRequest(HttpContext context)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            context.Response.Headers[HeaderNames.Connection] = "close";
            return;
        }

        // HTTP/2 forbids the Connection header (RFC 9113 §8.2.2), so the connection sends GOAWAY instead, which lets
        // the streams already open, this one included, finish.
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }

    /// <summary>The HTTP middleware: counts requests in flight and marks responses <c>Connection: close</c> while draining.</summary>
    public async Task OnRequestAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _requestsInFlight);
        try
        {
            if (Draining)
            {
                MarkLastRequest(context);
            }

            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _requestsInFlight);
        }
    }
}

internal static class ProxyConnectionDrainExtensions
{
    /// <summary>Adds the <see cref="ProxyConnectionDrain"/> connection middleware to a listener.</summary>
    public static ListenOptions UseConnectionDrain(this ListenOptions listen)
    {
        var drain = listen.ApplicationServices.GetRequiredService<ProxyConnectionDrain>();
        listen.Use(next => connection => drain.OnConnectionAsync(connection, next));
        return listen;
    }
}
