using System.Net;
using System.Net.Sockets;
using Tandem.Node.Transport;

namespace Tandem.Node.Tests.Transport;

/// <summary>Real sockets on 127.0.0.1: the kernel runs the filter, so each connect is bounded by a short timeout.</summary>
public sealed class SynDropFilterTests
{
    /// <summary>
    /// Long enough for a connect on loopback, which takes well under a millisecond, and shorter than the 1 s after
    /// which the kernel retransmits a dropped SYN.
    /// </summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Attach_NewConnect_DoesNotComplete()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var cancellationToken = TestContext.Current.CancellationToken;
        using var listener = Listen();
        using var open = await ConnectAsync(listener, cancellationToken);
        using var accepted = await listener.AcceptAsync(cancellationToken);

        SynDropFilter.Attach(listener);

        Assert.False(await TryConnectAsync(listener, cancellationToken), "A new connection completed through the filter.");
        await AssertExchangesDataAsync(open, accepted, cancellationToken);
    }

    [Fact]
    public async Task Detach_NewConnect_Succeeds()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var cancellationToken = TestContext.Current.CancellationToken;
        using var listener = Listen();
        SynDropFilter.Attach(listener);
        Assert.False(await TryConnectAsync(listener, cancellationToken), "A new connection completed through the filter.");

        SynDropFilter.Detach(listener);

        Assert.True(await TryConnectAsync(listener, cancellationToken), $"No connection within {ConnectTimeout.TotalMilliseconds} ms after the filter was detached.");
    }

    [Fact]
    public async Task Attach_HandshakeInProgress_Completes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var cancellationToken = TestContext.Current.CancellationToken;
        using var listener = Listen();

        // The handshake ends in the kernel before accept, so the connection waits in the accept queue here, and the
        // filter must let its data through.
        using var queued = await ConnectAsync(listener, cancellationToken);
        SynDropFilter.Attach(listener);
        using var accepted = await listener.AcceptAsync(cancellationToken);

        await AssertExchangesDataAsync(queued, accepted, cancellationToken);
    }

    [Fact]
    public void Detach_NoFilter_Throws()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        using var listener = Listen();

        Assert.Throws<SocketException>(() => SynDropFilter.Detach(listener));
    }

    [Fact]
    public async Task Gate_CloseThenOpen_AcceptsAgain()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var cancellationToken = TestContext.Current.CancellationToken;
        var gate = new ProxyListenerGate();
        Assert.False(gate.Close());
        Assert.False(gate.Open());

        using var listener = gate.CreateListenSocket(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();

        Assert.True(gate.Close());
        Assert.True(gate.Close());
        Assert.True(gate.Closed);
        Assert.False(await TryConnectAsync(listener, cancellationToken), "A new connection completed through the closed gate.");
        Assert.True(gate.Open());
        Assert.False(gate.Open());
        Assert.False(gate.Closed);
        Assert.True(await TryConnectAsync(listener, cancellationToken), "No connection through the reopened gate.");
    }

    [Fact]
    public void Gate_DisposedListener_StaysOpen()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The filter uses Linux socket options.");
        var gate = new ProxyListenerGate();
        var listener = gate.CreateListenSocket(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Dispose();

        Assert.False(gate.Close());
        Assert.False(gate.Closed);
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        return listener;
    }

    private static async Task<Socket> ConnectAsync(Socket listener, CancellationToken cancellationToken)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectTimeout);
        await client.ConnectAsync(listener.LocalEndPoint!, deadline.Token);
        return client;
    }

    /// <summary>Returns whether a new connection completes within <see cref="ConnectTimeout"/>.</summary>
    private static async Task<bool> TryConnectAsync(Socket listener, CancellationToken cancellationToken)
    {
        try
        {
            using var client = await ConnectAsync(listener, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task AssertExchangesDataAsync(Socket client, Socket server, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(5));
        var buffer = new byte[4];

        await client.SendAsync("ping"u8.ToArray(), SocketFlags.None, deadline.Token);
        Assert.Equal(4, await server.ReceiveAsync(buffer, SocketFlags.None, deadline.Token));
        Assert.Equal("ping"u8.ToArray(), buffer);

        await server.SendAsync("pong"u8.ToArray(), SocketFlags.None, deadline.Token);
        Assert.Equal(4, await client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token));
        Assert.Equal("pong"u8.ToArray(), buffer);
    }
}
