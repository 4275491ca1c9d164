using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Vrrp.Packets;

/// <summary>What the reader needs to know about the local virtual router to classify a packet.</summary>
/// <param name="Version">The version this virtual router runs.</param>
/// <param name="VirtualRouterId">Our VRID; valid advertisements for other VRIDs are reported as <see cref="VrrpReadOutcome.OtherVrid"/>.</param>
/// <param name="IsLocalAddress">Returns true for the addresses of our own interface, to spot our own adverts.</param>
internal sealed record VrrpReadContext(VrrpVersion Version, byte VirtualRouterId, Func<IPAddress, bool> IsLocalAddress);

/// <summary>Encodes and decodes VRRPv3 advertisements over IPv4 (RFC 9568 §5.1, §5.2, §7.1).</summary>
/// <remarks>
/// Layout: byte 0 is Version (high nibble) and Type (low nibble), then VRID, Priority, Count IPvX Addr,
/// then 4 reserved bits and the 12-bit Max Adver Int, then the 16-bit checksum, then the addresses.
/// </remarks>
internal static class VrrpPacket
{
    /// <summary>Version/type, VRID, priority, count, rsvd + Max Adver Int, checksum.</summary>
    public const int HeaderLength = 8;

    public const int Ipv4AddressLength = 4;

    /// <summary>The largest VRRPv3 IPv4 message: the header and 255 addresses.</summary>
    public const int MaxIpv4MessageLength = HeaderLength + (255 * Ipv4AddressLength);

    /// <summary>The IPv4 multicast group for VRRP (RFC 9568 §5.1.1.2).</summary>
    public static readonly IPAddress Ipv4MulticastGroup = IPAddress.Parse("224.0.0.18");

    /// <summary>The TTL every advertisement is sent with and must arrive with (RFC 9568 §5.1.1.3, §7.1).</summary>
    public const byte RequiredTtl = 255;

    /// <summary>Returns the encoded length of <paramref name="advertisement"/>.</summary>
    public static int GetLength(VrrpAdvertisement advertisement) =>
        HeaderLength + (advertisement.Addresses.Count * Ipv4AddressLength);

    /// <summary>
    /// Writes <paramref name="advertisement"/> with its checksum computed for the given IPv4 source and destination,
    /// and returns the number of bytes written.
    /// </summary>
    public static int Write(VrrpAdvertisement advertisement, IPAddress source, IPAddress destination, Span<byte> buffer)
    {
        if (advertisement.Version != VrrpVersion.V3 || advertisement.AddressFamily != AddressFamily.InterNetwork)
        {
            // NOTE: VRRPv2 (auth fields, seconds) and IPv6 (16-byte addresses, IPv6 pseudo-header) are later work.
            throw new NotSupportedException($"Only VRRPv3 over IPv4 is implemented, not version {(int)advertisement.Version} over {advertisement.AddressFamily}.");
        }

        if (advertisement.Addresses.Count is 0 or > 255)
        {
            throw new ArgumentException($"An advertisement carries 1 to 255 addresses, not {advertisement.Addresses.Count}.", nameof(advertisement));
        }

        if (advertisement.MaxAdvertisementIntervalCentiseconds is 0 or > VrrpAdvertisement.MaxIntervalCentiseconds)
        {
            throw new ArgumentException($"Max Adver Int must be 1 to {VrrpAdvertisement.MaxIntervalCentiseconds} centiseconds, not {advertisement.MaxAdvertisementIntervalCentiseconds}.", nameof(advertisement));
        }

        var length = GetLength(advertisement);
        var message = buffer[..length];

        message[0] = (byte)(((int)advertisement.Version << 4) | VrrpAdvertisement.TypeAdvertisement);
        message[1] = advertisement.VirtualRouterId;
        message[2] = advertisement.Priority;
        message[3] = (byte)advertisement.Addresses.Count;

        // The 4 reserved bits are sent as zero (RFC 9568 §5.2.6).
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], advertisement.MaxAdvertisementIntervalCentiseconds);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], 0);

        var offset = HeaderLength;
        foreach (var address in advertisement.Addresses)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new ArgumentException("All addresses of an advertisement belong to one address family.", nameof(advertisement));
            }

            address.TryWriteBytes(message.Slice(offset, Ipv4AddressLength), out _);
            offset += Ipv4AddressLength;
        }

        var checksum = InternetChecksum.ComputeVrrpIpv4(source, destination, message);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], checksum);
        return length;
    }

    /// <summary>Reads a whole IPv4 datagram as a Linux raw socket delivers it, header included.</summary>
    public static VrrpReadResult ReadIpv4Datagram(ReadOnlySpan<byte> datagram, VrrpReadContext context)
    {
        if (!Ipv4Header.TryRead(datagram, out var ip, out var offset, out var length, out var problem))
        {
            return VrrpReadResult.Reject(VrrpRejectReason.MalformedIpHeader, problem, ip);
        }

        return Read(datagram.Slice(offset, length), ip, context);
    }

    /// <summary>
    /// Validates a VRRP message in the order of RFC 9568 §7.1 and classifies it. Malformed bytes yield a rejection,
    /// not an exception; a fuzz test feeds it random datagrams.
    /// </summary>
    public static VrrpReadResult Read(ReadOnlySpan<byte> message, ReceivedIpInfo ip, VrrpReadContext context)
    {
        if (ip.Protocol != InternetChecksum.VrrpProtocol)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.NotVrrpProtocol, $"IP protocol {ip.Protocol}, expected {InternetChecksum.VrrpProtocol}", ip);
        }

        // A router decrements the TTL, so 255 proves the sender is on this link (RFC 9568 §7.1).
        if (ip.Ttl != RequiredTtl)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.TtlNot255, $"TTL {ip.Ttl}, expected {RequiredTtl}", ip);
        }

        if (message.Length < HeaderLength)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.TooShort, $"{message.Length} bytes, the fixed header alone is {HeaderLength}", ip);
        }

        var version = message[0] >> 4;
        if (version != (int)context.Version)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.BadVersion, $"version {version}, expected {(int)context.Version}", ip);
        }

        var type = message[0] & 0x0F;
        if (type != VrrpAdvertisement.TypeAdvertisement)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.BadType, $"type {type}, expected {VrrpAdvertisement.TypeAdvertisement} (ADVERTISEMENT)", ip);
        }

        // The message must hold exactly the fixed fields and the addresses it counts (RFC 9568 §7.1).
        var count = message[3];
        if (count == 0)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.NoAddresses, "Count IPvX Addr is 0", ip);
        }

        var expectedLength = HeaderLength + (count * Ipv4AddressLength);
        if (message.Length != expectedLength)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.LengthMismatch, $"{message.Length} bytes, but Count IPvX Addr {count} needs {expectedLength}", ip);
        }

        var received = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var computed = InternetChecksum.ComputeVrrpIpv4(ip.Source, ip.Destination, message);
        if (received != computed)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.BadChecksum, $"checksum 0x{received:x4}, expected 0x{computed:x4}", ip);
        }

        var vrid = message[1];
        var interval = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(message[4..]) & VrrpAdvertisement.MaxIntervalCentiseconds);
        var advertisement = new VrrpAdvertisement((VrrpVersion)version, vrid, message[2], interval, ReadAddresses(message[HeaderLength..], count));

        if (vrid != context.VirtualRouterId)
        {
            return new VrrpReadResult(VrrpReadOutcome.OtherVrid, default, $"VRID {vrid}, ours is {context.VirtualRouterId}", ip, advertisement);
        }

        if (interval == 0)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.ZeroInterval, "Max Adver Int is 0", ip);
        }

        if (context.IsLocalAddress(ip.Source))
        {
            return new VrrpReadResult(VrrpReadOutcome.OwnAdvert, default, $"source {ip.Source} is one of our addresses", ip, advertisement);
        }

        return new VrrpReadResult(VrrpReadOutcome.Accepted, default, null, ip, advertisement);
    }

    private static IPAddress[] ReadAddresses(ReadOnlySpan<byte> data, int count)
    {
        var addresses = new IPAddress[count];
        for (var i = 0; i < count; i++)
        {
            addresses[i] = new IPAddress(data.Slice(i * Ipv4AddressLength, Ipv4AddressLength));
        }

        return addresses;
    }
}
