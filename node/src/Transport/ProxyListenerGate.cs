using System.Net;
using System.Net.Sockets;

namespace Tandem.Node.Transport;

/// <summary>
/// Keeps the proxy's listen socket so that a planned switchover can stop it from accepting new connections with
/// <see cref="SynDropFilter"/>, and let it accept them again afterwards.
/// </summary>
internal sealed class ProxyListenerGate
{
    private readonly Lock _lock = new();
    private Socket? _socket;
    private bool _closed;

    /// <summary>True while the filter is attached.</summary>
    public bool Closed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>
    /// A <see cref="Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions.CreateBoundListenSocket"/>
    /// implementation for the proxy's host: creates the socket with <see cref="FreeBindListenSocket.Create"/> and keeps it.
    /// </summary>
    public Socket CreateListenSocket(EndPoint endPoint)
    {
        var socket = FreeBindListenSocket.Create(endPoint);
        lock (_lock)
        {
            _socket = socket;
            _closed = false;
        }

        return socket;
    }

    /// <summary>
    /// Attaches the filter to the listen socket. Returns whether the filter is attached afterwards: false when Kestrel
    /// has not created the socket yet or has closed it already.
    /// </summary>
    /// <exception cref="SocketException">setsockopt failed.</exception>
    public bool Close()
    {
        lock (_lock)
        {
            if (_closed || _socket is null)
            {
                return _closed;
            }

            try
            {
                SynDropFilter.Attach(_socket);
            }
            catch (ObjectDisposedException)
            {
                // The host stopped and closed the listener, so there is nothing to close.
                return false;
            }

            _closed = true;
            return true;
        }
    }

    /// <summary>Detaches the filter if <see cref="Close"/> attached it. Returns false when it was not attached.</summary>
    /// <exception cref="SocketException">setsockopt failed.</exception>
    public bool Open()
    {
        lock (_lock)
        {
            if (!_closed || _socket is null)
            {
                return false;
            }

            _closed = false;
            try
            {
                SynDropFilter.Detach(_socket);
            }
            catch (ObjectDisposedException)
            {
                // A closed listener has no filter left to remove.
            }

            return true;
        }
    }
}
