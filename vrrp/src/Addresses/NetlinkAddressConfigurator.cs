using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Addresses;

/// <summary>
/// Adds and removes virtual addresses with RTM_NEWADDR and RTM_DELADDR requests on a NETLINK_ROUTE socket (rtnetlink(7)),
/// the requests that iproute2's <c>ip addr</c> sends, without starting a process for each address.
/// </summary>
/// <remarks>
/// <para>
/// Each request opens its own socket, waits at most <see cref="ReplyTimeout"/> for the kernel's acknowledgement and
/// closes the socket. The interface index is read with SIOCGIFINDEX on that socket, so both follow the network
/// namespace the socket was created in.
/// </para>
/// <para>
/// IPv6 addresses get IFA_F_NODAD, as <c>ip addr add … nodad</c> sets it. Without it a new IPv6 address stays
/// tentative during Duplicate Address Detection (RFC 4862 §5.4), about 1 s with Linux defaults. A tentative address
/// cannot be a source and does not reply to neighbour solicitations, so the new master could not serve it at once.
/// Worse, during a takeover the old master may still hold it, and DAD would then mark it failed on the new master for
/// good. VRRP, not DAD, decides which node has the address.
/// </para>
/// </remarks>
internal sealed partial class NetlinkAddressConfigurator : IAddressConfigurator
{
    /// <summary>Time allowed for the kernel's reply; it normally comes within a millisecond.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    // Linux constants from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_addr.h>, <asm-generic/errno.h> and
    // <linux/sockios.h>.
    private const int AfNetlink = 16;
    private const int AddressFamilyInet = 2;
    private const int AddressFamilyInet6 = 10;
    private const int SockRaw = 3;
    private const int SockCloseOnExec = 0x80000;
    private const int NetlinkRoute = 0;
    private const ushort MessageError = 2;
    private const ushort NewAddress = 20;
    private const ushort DeleteAddress = 21;
    private const ushort FlagRequest = 0x1;
    private const ushort FlagAcknowledge = 0x4;
    private const ushort FlagExclusive = 0x200;
    private const ushort FlagCreate = 0x400;
    private const ushort AttributeAddress = 1;
    private const ushort AttributeLocal = 2;
    private const byte AddressFlagNoDad = 0x02;
    private const int SolSocket = 1;
    private const int SoReceiveTimeout = 20;
    private const ulong IoctlGetInterfaceIndex = 0x8933;
    private const int ErrnoNoSuchDevice = 19;
    private const int ErrnoExists = 17;
    private const int ErrnoAddressNotAvailable = 99;
    private const int ErrnoWouldBlock = 11;
    private const int HeaderLength = 16;
    private const int AddressMessageLength = 8;

    private enum RequestResult
    {
        Done,
        AlreadyDone,
        Failed,
    }

    private readonly ILogger _logger;
    private readonly Func<SafeSocketHandle> _openSocket;
    private int _sequence;

    /// <summary>
    /// Addresses that this instance added, so that a removal can tell the step-down of this process from the cleanup
    /// of a stale address that an earlier process left behind.
    /// </summary>
    private readonly HashSet<(string InterfaceName, string Address)> _added = [];

    public NetlinkAddressConfigurator(ILogger logger)
        : this(logger, OpenRouteSocket)
    {
    }

    /// <param name="logger">Logger of the address subsystem.</param>
    /// <param name="openSocket">Opens a NETLINK_ROUTE socket; tests pass one that opens it in their own network namespace.</param>
    internal NetlinkAddressConfigurator(ILogger logger, Func<SafeSocketHandle> openSocket)
    {
        _logger = logger;
        _openSocket = openSocket;
    }

    public Task<bool> AddAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = Send(NewAddress, FlagCreate | FlagExclusive, interfaceName, address, ErrnoExists);
        if (result == RequestResult.Failed)
        {
            return Task.FromResult(false);
        }

        lock (_added)
        {
            _added.Add((interfaceName, address.ToString()));
        }

        Log.AddressAdded(_logger, address.ToString(), interfaceName);
        return Task.FromResult(true);
    }

    public Task<bool> RemoveAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = Send(DeleteAddress, 0, interfaceName, address, ErrnoAddressNotAvailable);
        if (result == RequestResult.Failed)
        {
            return Task.FromResult(false);
        }

        bool addedHere;
        lock (_added)
        {
            addedHere = _added.Remove((interfaceName, address.ToString()));
        }

        if (result == RequestResult.AlreadyDone)
        {
            Log.AddressNotPresent(_logger, address.ToString(), interfaceName);
        }
        else if (addedHere)
        {
            Log.AddressRemoved(_logger, address.ToString(), interfaceName);
        }
        else
        {
            Log.StaleAddressRemoved(_logger, address.ToString(), interfaceName);
        }

        return Task.FromResult(true);
    }

    /// <summary>Sends one request and reads its acknowledgement. <paramref name="alreadyDoneErrno"/> means the address is already in the wanted state.</summary>
    private RequestResult Send(ushort type, ushort flags, string interfaceName, VirtualAddress address, int alreadyDoneErrno)
    {
        var request = type == NewAddress ? "RTM_NEWADDR" : "RTM_DELADDR";
        SafeSocketHandle socket;
        try
        {
            socket = _openSocket();
        }
        catch (SocketException ex)
        {
            Log.RequestFailed(_logger, request, address.ToString(), interfaceName, ex.Message);
            return RequestResult.Failed;
        }

        using (socket)
        {
            var index = GetInterfaceIndex(socket, interfaceName, out var errno);
            if (index <= 0)
            {
                var problem = errno == ErrnoNoSuchDevice ? "the interface does not exist" : Marshal.GetPInvokeErrorMessage(errno);
                Log.RequestFailed(_logger, request, address.ToString(), interfaceName, problem);
                return RequestResult.Failed;
            }

            var sequence = Interlocked.Increment(ref _sequence);
            var message = BuildMessage(type, (ushort)(flags | FlagRequest | FlagAcknowledge), sequence, index, address);
            var error = Exchange(socket, message, sequence);
            if (error == 0)
            {
                return RequestResult.Done;
            }

            if (error == alreadyDoneErrno)
            {
                return RequestResult.AlreadyDone;
            }

            var detail = error == ErrnoWouldBlock
                ? $"no reply within {ReplyTimeout.TotalSeconds} s"
                : Marshal.GetPInvokeErrorMessage(error);
            Log.RequestFailed(_logger, request, address.ToString(), interfaceName, detail);
            return RequestResult.Failed;
        }
    }

    /// <summary>
    /// Builds struct nlmsghdr, struct ifaddrmsg and the IFA_LOCAL and IFA_ADDRESS attributes, both set to the address
    /// as iproute2 sets them for an address without a peer.
    /// </summary>
    internal static byte[] BuildMessage(ushort type, ushort flags, int sequence, int interfaceIndex, VirtualAddress address)
    {
        var ipv6 = address.Address.AddressFamily == AddressFamily.InterNetworkV6;
        var addressLength = ipv6 ? 16 : 4;
        var attributeLength = 4 + addressLength;
        var length = HeaderLength + AddressMessageLength + (2 * Align(attributeLength));
        var message = new byte[length];
        var span = message.AsSpan();

        // struct nlmsghdr in host byte order: length, type, flags, sequence, port id 0 (the kernel fills it in).
        BitConverter.TryWriteBytes(span[0..], (uint)length);
        BitConverter.TryWriteBytes(span[4..], type);
        BitConverter.TryWriteBytes(span[6..], flags);
        BitConverter.TryWriteBytes(span[8..], sequence);

        // struct ifaddrmsg: family, prefix length, flags, scope (0 lets the kernel pick it), interface index.
        span[16] = (byte)(ipv6 ? AddressFamilyInet6 : AddressFamilyInet);
        span[17] = (byte)address.PrefixLength;
        span[18] = ipv6 && type == NewAddress ? AddressFlagNoDad : (byte)0;
        span[19] = 0;
        BitConverter.TryWriteBytes(span[20..], interfaceIndex);

        var offset = HeaderLength + AddressMessageLength;
        foreach (var attribute in new[] { AttributeLocal, AttributeAddress })
        {
            BitConverter.TryWriteBytes(span[offset..], (ushort)attributeLength);
            BitConverter.TryWriteBytes(span[(offset + 2)..], attribute);
            address.Address.TryWriteBytes(span.Slice(offset + 4, addressLength), out _);
            offset += Align(attributeLength);
        }

        return message;
    }

    private static int Align(int length) => (length + 3) & ~3;

    /// <summary>Sends <paramref name="message"/> and returns the errno of the matching NLMSG_ERROR reply, 0 for success.</summary>
    private static unsafe int Exchange(SafeSocketHandle socket, byte[] message, int sequence)
    {
        fixed (byte* pointer = message)
        {
            if (NativeMethods.Send(socket, pointer, (nuint)message.Length, 0) < 0)
            {
                return Marshal.GetLastPInvokeError();
            }
        }

        var reply = new byte[8192];
        while (true)
        {
            nint received;
            fixed (byte* pointer = reply)
            {
                received = NativeMethods.Receive(socket, pointer, (nuint)reply.Length, 0);
            }

            if (received < 0)
            {
                return Marshal.GetLastPInvokeError();
            }

            if (ReadAcknowledgement(reply.AsSpan(0, (int)received), sequence) is { } error)
            {
                return error;
            }
        }
    }

    /// <summary>Returns the errno of the NLMSG_ERROR message for <paramref name="sequence"/> in <paramref name="data"/>, or null when there is none.</summary>
    internal static int? ReadAcknowledgement(ReadOnlySpan<byte> data, int sequence)
    {
        var offset = 0;
        while (offset + HeaderLength <= data.Length)
        {
            var length = (int)BitConverter.ToUInt32(data[offset..]);
            var type = BitConverter.ToUInt16(data[(offset + 4)..]);
            var messageSequence = BitConverter.ToInt32(data[(offset + 8)..]);
            if (length < HeaderLength || offset + length > data.Length)
            {
                return null;
            }

            // struct nlmsgerr starts with a negative errno, or 0 for an acknowledgement.
            if (type == MessageError && messageSequence == sequence && length >= HeaderLength + 4)
            {
                return -BitConverter.ToInt32(data[(offset + HeaderLength)..]);
            }

            offset += Align(length);
        }

        return null;
    }

    /// <summary>Returns the interface index from SIOCGIFINDEX, or 0 with the errno.</summary>
    private static unsafe int GetInterfaceIndex(SafeSocketHandle socket, string interfaceName, out int errno)
    {
        // struct ifreq: a 16-byte name, then the index in the union that follows (40 bytes in all on 64-bit Linux).
        var request = stackalloc byte[40];
        new Span<byte>(request, 40).Clear();
        var name = Encoding.ASCII.GetBytes(interfaceName);
        if (name.Length >= 16)
        {
            errno = ErrnoNoSuchDevice;
            return 0;
        }

        name.CopyTo(new Span<byte>(request, 16));
        if (NativeMethods.Ioctl(socket, IoctlGetInterfaceIndex, request) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return 0;
        }

        errno = 0;
        return BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(request + 16, 4));
    }

    /// <summary>Opens a NETLINK_ROUTE socket in this process's network namespace, with <see cref="ReplyTimeout"/> on receive.</summary>
    internal static SafeSocketHandle OpenRouteSocket()
    {
        var descriptor = NativeMethods.Socket(AfNetlink, SockRaw | SockCloseOnExec, NetlinkRoute);
        if (descriptor < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        var handle = new SafeSocketHandle(descriptor, ownsHandle: true);
        SetReceiveTimeout(handle);
        return handle;
    }

    /// <summary>Sets SO_RCVTIMEO to <see cref="ReplyTimeout"/>, so that a missing reply fails the request instead of blocking.</summary>
    internal static unsafe void SetReceiveTimeout(SafeSocketHandle handle)
    {
        // struct timeval on 64-bit Linux: seconds and microseconds, 8 bytes each.
        var timeout = stackalloc long[2];
        timeout[0] = (long)ReplyTimeout.TotalSeconds;
        timeout[1] = 0;
        if (NativeMethods.SetSocketOption(handle, SolSocket, SoReceiveTimeout, timeout, 16) < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    private static unsafe partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
        public static partial int Socket(int domain, int type, int protocol);

        [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
        public static partial nint Send(SafeSocketHandle socket, byte* buffer, nuint length, int flags);

        [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
        public static partial nint Receive(SafeSocketHandle socket, byte* buffer, nuint length, int flags);

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        public static partial int Ioctl(SafeSocketHandle socket, ulong request, byte* argument);

        [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
        public static partial int SetSocketOption(SafeSocketHandle socket, int level, int option, void* value, uint length);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.AddressAdded, Level = LogLevel.Information, Message = "Virtual address {address} is on {interfaceName}")]
        public static partial void AddressAdded(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.AddressRemoved, Level = LogLevel.Information, Message = "Removed virtual address {address} from {interfaceName}")]
        public static partial void AddressRemoved(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.StaleAddressRemoved, Level = LogLevel.Information, Message = "Removed stale virtual address {address} from {interfaceName}")]
        public static partial void StaleAddressRemoved(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.AddressNotPresent, Level = LogLevel.Information, Message = "Virtual address {address} was not on {interfaceName}, nothing to remove")]
        public static partial void AddressNotPresent(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.NetlinkRequestFailed, Level = LogLevel.Error, Message = "{request} for {address} on {interfaceName} failed: {problem}. Check that the interface exists and that the process has CAP_NET_ADMIN")]
        public static partial void RequestFailed(ILogger logger, string request, string address, string interfaceName, string problem);
    }
}
