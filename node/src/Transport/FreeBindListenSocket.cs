using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Tandem.Node.Transport;

/// <summary>
/// Creates Kestrel's listen sockets. A socket for a specific address gets IP_FREEBIND before bind, so a backup node
/// can listen on the virtual address while the address is assigned to another node, and take over without
/// restarting the listener.
/// </summary>
internal static class FreeBindListenSocket
{
    // From linux/in.h and linux/in6.h. IPV6_FREEBIND exists since Linux 4.15.
    private const int IpProtocolIp = 0;
    private const int IpProtocolIpv6 = 41;
    private const int IpFreeBind = 15;
    private const int Ipv6FreeBind = 78;

    /// <summary>A <see cref="SocketTransportOptions.CreateBoundListenSocket"/> implementation.</summary>
    public static Socket Create(EndPoint endPoint)
    {
        if (endPoint is not IPEndPoint ip || !NeedsFreeBind(ip.Address))
        {
            return SocketTransportOptions.CreateDefaultBoundListenSocket(endPoint);
        }

        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SetSocketOption maps .NET option names to native ones and rejects values it does not know, so the raw
            // call passes the Linux constants through unchanged.
            var (level, name) = GetFreeBindOption(ip.AddressFamily);
            socket.SetRawSocketOption(level, name, BitConverter.GetBytes(1));

            socket.Bind(ip);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True for an address that may not be assigned to this machine yet: any specific address, on Linux only.</summary>
    internal static bool NeedsFreeBind(IPAddress address) =>
        OperatingSystem.IsLinux()
        && !address.Equals(IPAddress.Any)
        && !address.Equals(IPAddress.IPv6Any);

    /// <summary>Reads IP_FREEBIND or IPV6_FREEBIND back from a socket, for tests.</summary>
    internal static bool IsFreeBindSet(Socket socket)
    {
        var (level, name) = GetFreeBindOption(socket.AddressFamily);
        Span<byte> value = stackalloc byte[sizeof(int)];
        var length = socket.GetRawSocketOption(level, name, value);
        return length > 0 && value[..length].IndexOfAnyExcept((byte)0) >= 0;
    }

    private static (int Level, int Name) GetFreeBindOption(AddressFamily family) =>
        family == AddressFamily.InterNetwork ? (IpProtocolIp, IpFreeBind) : (IpProtocolIpv6, Ipv6FreeBind);
}
