using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Platform;

/// <summary>
/// A Linux raw IPv6 socket for protocol 112, bound to one interface and its link-local address, that sends to and
/// receives from ff02::12, or in unicast mode to and from the peers' link-local addresses.
/// </summary>
/// <remarks>
/// <para>
/// The socket is bound to the interface's link-local address, so that every advert leaves from it as RFC 9568
/// §5.1.2.1 requires, and the pseudo-header checksum we compute names the source the packet carries. A bound raw
/// IPv6 socket still receives multicast for the groups it joined.
/// </para>
/// <para>
/// A raw IPv6 socket delivers the payload without the IPv6 header (RFC 3542 §3). The socket requests the hop limit
/// (IPV6_RECVHOPLIMIT) and the destination (IPV6_RECVPKTINFO) as ancillary data. <see cref="ReceiveAsync"/> rebuilds
/// a fixed header from them, so that the reader checks hop limit 255 (RFC 9568 §7.1) and the checksum as for IPv4.
/// </para>
/// <para>
/// The kernel computes and checks a raw IPv6 checksum only for ICMPv6 or when IPV6_CHECKSUM is set. This socket
/// leaves IPV6_CHECKSUM unset: we compute the checksum ourselves on send and check it on receipt. If the kernel
/// checked it, a bad advert would be dropped before it could be counted as <see cref="VrrpRejectReason.BadChecksum"/>.
/// </para>
/// </remarks>
internal sealed partial class RawIpv6SocketTransport : IVrrpTransport
{
    // Linux constants from <sys/socket.h> and <linux/in6.h>, which .NET does not name.
    private const int AfInet6 = 10;
    private const int IpProtoIpv6 = 41;
    private const int Ipv6UnicastHops = 16;
    private const int Ipv6MulticastIf = 17;
    private const int Ipv6MulticastHops = 18;
    private const int Ipv6MulticastLoop = 19;
    private const int Ipv6AddMembership = 20;
    private const int Ipv6RecvPacketInfo = 49;
    private const int Ipv6PacketInfo = 50;
    private const int Ipv6RecvHopLimit = 51;
    private const int Ipv6HopLimit = 52;
    private const int Ipv6TrafficClass = 67;
    private const int MessageDontWait = 0x40;
    private const int ErrnoWouldBlock = 11;

    /// <summary>DSCP CS6 (internetwork control) in the Traffic Class, as the IPv4 transport sets in the TOS byte.</summary>
    private const int TrafficClassInternetworkControl = 0xC0;

    /// <summary>Room for two ancillary messages (in6_pktinfo and the hop limit) with their headers and padding.</summary>
    private const int ControlBufferLength = 128;

    private readonly Socket _socket;
    private readonly int _interfaceIndex;
    private readonly byte[] _peekBuffer = new byte[VrrpPacket.MaxMessageLength + 1];

    private RawIpv6SocketTransport(Socket socket, int interfaceIndex)
    {
        _socket = socket;
        _interfaceIndex = interfaceIndex;
    }

    /// <summary>
    /// Opens and configures the socket. Throws <see cref="System.ComponentModel.Win32Exception"/> when the kernel rejects the socket and
    /// <see cref="SocketException"/> when it rejects an option or the bind.
    /// </summary>
    public static RawIpv6SocketTransport Open(InterfaceInfo info, bool unicast)
    {
        var socket = RawSockets.Create(AfInet6);
        try
        {
            RawSockets.BindToDevice(socket, info.Name);
            socket.Bind(new IPEndPoint(WithScope(info.PrimaryAddress, info.Index), 0));

            if (!unicast)
            {
                Span<byte> membership = stackalloc byte[20];
                VrrpPacket.Ipv6MulticastGroup.TryWriteBytes(membership[..16], out _);
                BitConverter.TryWriteBytes(membership[16..], info.Index);
                socket.SetRawSocketOption(IpProtoIpv6, Ipv6AddMembership, membership);
                SetInt(socket, Ipv6MulticastIf, info.Index);
            }

            // RFC 9568 §5.1.2.3: the hop limit must be 255 so that receivers can reject packets that crossed a router.
            SetInt(socket, Ipv6MulticastHops, VrrpPacket.RequiredTtl);
            SetInt(socket, Ipv6UnicastHops, VrrpPacket.RequiredTtl);
            SetInt(socket, Ipv6MulticastLoop, 0);
            SetInt(socket, Ipv6TrafficClass, TrafficClassInternetworkControl);
            SetInt(socket, Ipv6RecvHopLimit, 1);
            SetInt(socket, Ipv6RecvPacketInfo, 1);
            return new RawIpv6SocketTransport(socket, info.Index);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Send(ReadOnlySpan<byte> vrrpMessage, IPAddress destination) =>
        _socket.SendTo(vrrpMessage, SocketFlags.None, new IPEndPoint(WithScope(destination, _interfaceIndex), 0));

    /// <summary>
    /// Waits for a datagram, then reads it with recvmsg and writes a fixed IPv6 header built from the ancillary data
    /// in front of the VRRP message. Returns the length of header and message.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            // .NET has no asynchronous recvmsg that returns the hop limit, so a peek waits for readiness and recvmsg
            // then takes the datagram without blocking. The peek buffer is large enough to avoid truncation.
            await _socket.ReceiveAsync(_peekBuffer, SocketFlags.Peek, cancellationToken);
            var length = ReceiveMessage(buffer.Span);
            if (length >= 0)
            {
                return length;
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Returns the datagram length with the rebuilt header, or -1 when another reader took the datagram first.</summary>
    private unsafe int ReceiveMessage(Span<byte> buffer)
    {
        if (buffer.Length <= Ipv6Header.Length)
        {
            throw new ArgumentException($"The receive buffer needs more than {Ipv6Header.Length} bytes.", nameof(buffer));
        }

        var payload = buffer[Ipv6Header.Length..];
        var sender = stackalloc byte[SockAddrIn6Length];
        var control = stackalloc byte[ControlBufferLength];
        long received;
        MessageHeader header;
        fixed (byte* payloadPointer = payload)
        {
            var vector = new IoVector { Base = payloadPointer, Length = (nuint)payload.Length };
            header = new MessageHeader
            {
                Name = sender,
                NameLength = SockAddrIn6Length,
                Vectors = &vector,
                VectorCount = 1,
                Control = control,
                ControlLength = ControlBufferLength,
            };
            received = NativeMethods.ReceiveMessage(_socket.Handle, &header, MessageDontWait);
        }

        if (received < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ErrnoWouldBlock)
            {
                return -1;
            }

            throw new SocketException(errno);
        }

        // A truncated datagram is longer than any VRRP message. The rebuilt header then declares a payload length of
        // 0, which does not match the bytes, so the reader rejects it as a malformed IP header.
        var truncated = (header.Flags & MessageTruncated) != 0;
        var source = new IPAddress(new ReadOnlySpan<byte>(sender + 8, 16));
        ReadControl(new ReadOnlySpan<byte>(control, (int)header.ControlLength), out var destination, out var hopLimit);
        Ipv6Header.Write(buffer, source, destination, hopLimit, InternetChecksum.VrrpProtocol, truncated ? 0 : (int)received);
        return Ipv6Header.Length + (int)received;
    }

    /// <summary>Reads the destination from IPV6_PKTINFO and the hop limit from IPV6_HOPLIMIT; missing ones read as :: and 0.</summary>
    internal static void ReadControl(ReadOnlySpan<byte> control, out IPAddress destination, out byte hopLimit)
    {
        destination = IPAddress.IPv6Any;
        hopLimit = 0;

        // struct cmsghdr on 64-bit Linux: size_t cmsg_len, int cmsg_level, int cmsg_type; data and the next header
        // start at 8-byte boundaries (CMSG_ALIGN).
        var offset = 0;
        while (offset + ControlHeaderLength <= control.Length)
        {
            var length = (int)BitConverter.ToUInt64(control[offset..]);
            var level = BitConverter.ToInt32(control[(offset + 8)..]);
            var type = BitConverter.ToInt32(control[(offset + 12)..]);
            if (length < ControlHeaderLength || offset + length > control.Length)
            {
                return;
            }

            var data = control.Slice(offset + ControlHeaderLength, length - ControlHeaderLength);
            if (level == IpProtoIpv6 && type == Ipv6PacketInfo && data.Length >= 16)
            {
                destination = new IPAddress(data[..16]);
            }
            else if (level == IpProtoIpv6 && type == Ipv6HopLimit && data.Length >= 4)
            {
                hopLimit = (byte)Math.Clamp(BitConverter.ToInt32(data), 0, 255);
            }

            offset += (length + 7) & ~7;
        }
    }

    private static IPAddress WithScope(IPAddress address, int interfaceIndex)
    {
        // Link-local and link-scope multicast addresses need the interface index as their scope.
        var scoped = new IPAddress(address.GetAddressBytes());
        if (address.IsIPv6LinkLocal || address.IsIPv6Multicast)
        {
            scoped.ScopeId = interfaceIndex;
        }

        return scoped;
    }

    private static void SetInt(Socket socket, int option, int value) => RawSockets.SetInt(socket, IpProtoIpv6, option, value);

    private const int SockAddrIn6Length = 28;
    private const int ControlHeaderLength = 16;
    private const int MessageTruncated = 0x20;

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr of 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MessageHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    private static unsafe partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
        public static partial nint ReceiveMessage(nint socket, MessageHeader* message, int flags);
    }
}
