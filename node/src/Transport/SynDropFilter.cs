using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tandem.Node.Transport;

/// <summary>
/// A classic BPF socket filter for a TCP listen socket that drops pure SYNs, so the listener accepts no new connection
/// while handshakes already in progress and open connections go on.
/// </summary>
/// <remarks>
/// <para>
/// Linux runs a listener's filter in <c>tcp_v4_rcv</c> and <c>tcp_v6_rcv</c> before the SYN is processed, with the
/// packet starting at the TCP header, so the flags are the byte at offset 13. A dropped SYN gets no reply, not even a
/// reset, and the client's kernel retransmits it after its initial retransmission timeout (1 s on Linux, RFC 6298
/// §2.1), then after 2 s more.
/// </para>
/// <para>
/// The final ACK of a handshake has the ACK flag, so it passes and the connection completes. Connections accepted
/// while the filter is attached keep a copy of it, which drops only a SYN that arrives on an established connection.
/// Such a peer misses the challenge ACK of RFC 5961 §4, which matters only to a peer that restarted.
/// </para>
/// </remarks>
internal static class SynDropFilter
{
    // From asm-generic/socket.h and linux/filter.h.
    private const int SolSocket = 1;
    private const int SoAttachFilter = 26;
    private const int SoDetachFilter = 27;

    private const ushort BpfLoadByteAbsolute = 0x30; // BPF_LD | BPF_B | BPF_ABS
    private const ushort BpfAndConstant = 0x54; // BPF_ALU | BPF_AND | BPF_K
    private const ushort BpfJumpIfEqual = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort BpfReturnConstant = 0x06; // BPF_RET | BPF_K

    private const uint TcpFlagsOffset = 13;
    private const uint TcpFlagSyn = 0x02;
    private const uint TcpFlagAck = 0x10;

    /// <summary>The program as struct sock_filter entries: code, jt, jf, k.</summary>
    /// <remarks>
    /// A socket filter's return value is the number of bytes to keep, so "accept" returns the maximum, which keeps the
    /// whole packet, and 0 drops it.
    /// </remarks>
    private static readonly (ushort Code, byte JumpIfTrue, byte JumpIfFalse, uint Constant)[] Program =
    [
        (BpfLoadByteAbsolute, 0, 0, TcpFlagsOffset),
        (BpfAndConstant, 0, 0, TcpFlagSyn | TcpFlagAck),
        (BpfJumpIfEqual, 0, 1, TcpFlagSyn),
        (BpfReturnConstant, 0, 0, 0),
        (BpfReturnConstant, 0, 0, uint.MaxValue),
    ];

    /// <summary>Attaches the filter, replacing any filter the socket had.</summary>
    /// <exception cref="SocketException">setsockopt failed.</exception>
    public static void Attach(Socket socket)
    {
        // struct sock_filter is 8 bytes in host byte order: u16 code, u8 jt, u8 jf, u32 k.
        var instructions = new byte[Program.Length * 8];
        for (var i = 0; i < Program.Length; i++)
        {
            var entry = instructions.AsSpan(i * 8, 8);
            var (code, jumpIfTrue, jumpIfFalse, constant) = Program[i];
            MemoryMarshal.Write(entry, in code);
            entry[2] = jumpIfTrue;
            entry[3] = jumpIfFalse;
            MemoryMarshal.Write(entry[4..], in constant);
        }

        // The kernel copies the program during the call, so the array only has to stay pinned until it returns.
        var pinned = GCHandle.Alloc(instructions, GCHandleType.Pinned);
        try
        {
            // struct sock_fprog: an unsigned short count, then a pointer aligned to the pointer size.
            var program = new byte[IntPtr.Size * 2];
            var count = (ushort)Program.Length;
            MemoryMarshal.Write(program, in count);
            var address = pinned.AddrOfPinnedObject();
            MemoryMarshal.Write(program.AsSpan(IntPtr.Size), in address);
            socket.SetRawSocketOption(SolSocket, SoAttachFilter, program);
        }
        finally
        {
            pinned.Free();
        }
    }

    /// <summary>Removes the socket's filter.</summary>
    /// <exception cref="SocketException">setsockopt failed, for example because the socket had no filter.</exception>
    public static void Detach(Socket socket)
    {
        // The kernel reads an int from every SOL_SOCKET option, although SO_DETACH_FILTER ignores its value.
        socket.SetRawSocketOption(SolSocket, SoDetachFilter, BitConverter.GetBytes(0));
    }
}
