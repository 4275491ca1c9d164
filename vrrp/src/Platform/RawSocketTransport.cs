using System.Net;
using System.Net.Sockets;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Platform;

/// <summary>
/// A Linux raw IPv4 socket for protocol 112, bound to one interface, that sends to and receives from 224.0.0.18, or
/// in unicast mode to and from the peers' addresses.
/// </summary>
/// <remarks>
/// One socket does both jobs. In multicast mode IP_MULTICAST_IF gets an ip_mreqn that names the primary address,
/// and Linux uses that address as the source of multicast sent from an unbound socket. In unicast mode the socket
/// is bound to the primary address, which makes it the source of every advert and limits reception to datagrams
/// sent to it. Either way the source stays the primary address even while a virtual address is on the interface,
/// and the pseudo-header checksum we compute matches the packet. Multicast loopback is off, so our own adverts do
/// not come back to us through this socket.
/// </remarks>
internal sealed class RawSocketTransport : IVrrpTransport
{
    // Linux constants from <sys/socket.h> and <linux/in.h>, which .NET does not name.
    private const int AfInet = 2;
    private const int IpProtoIp = 0;
    private const int IpTos = 1;
    private const int IpTtl = 2;
    private const int IpMulticastIf = 32;
    private const int IpMulticastTtl = 33;
    private const int IpMulticastLoop = 34;
    private const int IpAddMembership = 35;

    /// <summary>DSCP CS6 (internetwork control), the TOS byte keepalived 2.2.7 sends its adverts with.</summary>
    private const int TosInternetworkControl = 0xC0;

    private readonly Socket _socket;

    private RawSocketTransport(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>
    /// Opens and configures the socket. Throws <see cref="System.ComponentModel.Win32Exception"/> when the kernel rejects the socket and
    /// <see cref="SocketException"/> when it rejects an option.
    /// </summary>
    public static RawSocketTransport Open(InterfaceInfo info, bool unicast)
    {
        var socket = RawSockets.Create(AfInet);
        try
        {
            RawSockets.BindToDevice(socket, info.Name);

            if (unicast)
            {
                socket.Bind(new IPEndPoint(info.PrimaryAddress, 0));
            }
            else
            {
                Span<byte> mreqn = stackalloc byte[12];
                WriteIpMreqn(mreqn, VrrpPacket.Ipv4MulticastGroup, IPAddress.Any, info.Index);
                socket.SetRawSocketOption(IpProtoIp, IpAddMembership, mreqn);

                WriteIpMreqn(mreqn, IPAddress.Any, info.PrimaryAddress, info.Index);
                socket.SetRawSocketOption(IpProtoIp, IpMulticastIf, mreqn);
            }

            // RFC 9568 §5.1.1.3: the TTL must be 255 so that receivers can reject packets that crossed a router.
            SetInt(socket, IpMulticastTtl, VrrpPacket.RequiredTtl);
            SetInt(socket, IpTtl, VrrpPacket.RequiredTtl);
            SetInt(socket, IpTos, TosInternetworkControl);
            SetInt(socket, IpMulticastLoop, 0);
            return new RawSocketTransport(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Send(ReadOnlySpan<byte> vrrpMessage, IPAddress destination) =>
        _socket.SendTo(vrrpMessage, SocketFlags.None, new IPEndPoint(destination, 0));

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public void Dispose() => _socket.Dispose();

    /// <summary>Fills a struct ip_mreqn: group, local address (network byte order), interface index (host byte order).</summary>
    private static void WriteIpMreqn(Span<byte> destination, IPAddress group, IPAddress local, int interfaceIndex)
    {
        group.TryWriteBytes(destination[..4], out _);
        local.TryWriteBytes(destination.Slice(4, 4), out _);
        BitConverter.TryWriteBytes(destination[8..], interfaceIndex);
    }

    private static void SetInt(Socket socket, int option, int value) => RawSockets.SetInt(socket, IpProtoIp, option, value);
}
