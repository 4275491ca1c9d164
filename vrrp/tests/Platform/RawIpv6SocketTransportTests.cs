using System.Net;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Tests.Platform;

public sealed class RawIpv6SocketTransportTests
{
    /// <summary>Appends one struct cmsghdr of 64-bit Linux with its data, padded to 8 bytes as CMSG_SPACE does.</summary>
    private static void AddControl(List<byte> control, int level, int type, byte[] data)
    {
        var length = 16 + data.Length;
        control.AddRange(BitConverter.GetBytes((ulong)length));
        control.AddRange(BitConverter.GetBytes(level));
        control.AddRange(BitConverter.GetBytes(type));
        control.AddRange(data);
        while (control.Count % 8 != 0)
        {
            control.Add(0);
        }
    }

    [Fact]
    public void ReadControl_PacketInfoAndHopLimit()
    {
        var control = new List<byte>();
        var packetInfo = new byte[20];
        IPAddress.Parse("ff02::12").TryWriteBytes(packetInfo.AsSpan(0, 16), out _);
        BitConverter.TryWriteBytes(packetInfo.AsSpan(16), 7);
        AddControl(control, level: 41, type: 50, packetInfo);
        AddControl(control, level: 41, type: 52, BitConverter.GetBytes(255));

        RawIpv6SocketTransport.ReadControl(control.ToArray(), out var destination, out var hopLimit);

        Assert.Equal(IPAddress.Parse("ff02::12"), destination);
        Assert.Equal(255, hopLimit);
    }

    [Fact]
    public void ReadControl_Missing_AnyAndZero()
    {
        // A hop limit of 0 fails the reader's check for 255, so a missing control message cannot pass as valid.
        RawIpv6SocketTransport.ReadControl([], out var destination, out var hopLimit);

        Assert.Equal(IPAddress.IPv6Any, destination);
        Assert.Equal(0, hopLimit);
    }

    [Fact]
    public void ReadControl_BadLength_Stops()
    {
        var control = new List<byte>();
        AddControl(control, level: 41, type: 52, BitConverter.GetBytes(255));
        control[0] = 200;

        RawIpv6SocketTransport.ReadControl(control.ToArray(), out _, out var hopLimit);

        Assert.Equal(0, hopLimit);
    }
}
