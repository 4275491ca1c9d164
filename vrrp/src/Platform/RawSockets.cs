using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Platform;

/// <summary>Socket calls shared by the raw IPv4 and IPv6 VRRP transports.</summary>
internal static partial class RawSockets
{
    // Linux constants from <sys/socket.h> and <asm-generic/socket.h>, which .NET does not name.
    private const int SockRaw = 3;
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    /// <summary>
    /// Creates a SOCK_RAW socket for protocol 112 through libc. Throws <see cref="Win32Exception"/> when the kernel
    /// rejects it.
    /// </summary>
    /// <param name="addressFamily">The Linux address family: 2 for AF_INET, 10 for AF_INET6.</param>
    /// <remarks>
    /// <c>new Socket(AddressFamily.InterNetwork, SocketType.Raw, (ProtocolType)112)</c> fails with "Protocol not
    /// supported" on .NET 10 for Linux, because the runtime's native shim (pal_networking.c) converts only the
    /// protocols it names, such as TCP, UDP and ICMP. A socket made by libc and wrapped in a
    /// <see cref="SafeSocketHandle"/> works.
    /// </remarks>
    public static Socket Create(int addressFamily)
    {
        var descriptor = NativeMethods.Socket(addressFamily, SockRaw, InternetChecksum.VrrpProtocol);
        if (descriptor < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        }

        return new Socket(new SafeSocketHandle(descriptor, ownsHandle: true));
    }

    /// <summary>Sets SO_BINDTODEVICE, so that the socket sends and receives only on the named interface.</summary>
    public static void BindToDevice(Socket socket, string interfaceName)
    {
        var name = Encoding.ASCII.GetBytes(interfaceName + "\0");
        socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
    }

    /// <summary>Sets an option whose value is a C int.</summary>
    public static void SetInt(Socket socket, int level, int option, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        socket.SetRawSocketOption(level, option, bytes);
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
        public static partial int Socket(int domain, int type, int protocol);
    }
}
