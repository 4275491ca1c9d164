using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Vrrp.Packets;

/// <summary>What the reader needs to know about the local virtual router to classify a packet.</summary>
/// <param name="Version">The version this virtual router runs.</param>
/// <param name="VirtualRouterId">Our VRID; valid advertisements for other VRIDs are reported as <see cref="VrrpReadOutcome.OtherVrid"/>.</param>
/// <param name="IsLocalAddress">Returns true for the addresses of our own interface, to spot our own adverts.</param>
internal sealed record VrrpReadContext(VrrpVersion Version, byte VirtualRouterId, Func<IPAddress, bool> IsLocalAddress)
{
    /// <summary>The address family of our virtual addresses, which sets the IP header and the address size.</summary>
    public AddressFamily AddressFamily { get; init; } = AddressFamily.InterNetwork;

    /// <summary>
    /// The checksum form expected in VRRPv3 adverts over IPv4. VRRPv2 always sums the message alone, and VRRPv3 over
    /// IPv6 always uses the IPv6 pseudo-header.
    /// </summary>
    public VrrpChecksumMode ChecksumMode { get; init; } = VrrpChecksumMode.PseudoHeader;

    /// <summary>The VRRPv2 Auth Type and data that received adverts must carry.</summary>
    public VrrpAuthentication Authentication { get; init; } = VrrpAuthentication.None;

    /// <summary>Our Advertisement_Interval, which a VRRPv2 advert must repeat exactly (RFC 3768 §7.1).</summary>
    public int AdvertisementIntervalCentiseconds { get; init; } = 100;

    /// <summary>The only sources accepted in unicast mode; null in multicast mode, which accepts any source.</summary>
    public IReadOnlySet<IPAddress>? UnicastPeers { get; init; }
}

/// <summary>
/// Encodes and decodes VRRPv3 adverts over IPv4 and IPv6 (RFC 9568 §5.1, §5.2, §7.1) and VRRPv2 adverts over IPv4
/// (RFC 3768 §5, §7.1).
/// </summary>
/// <remarks>
/// Both versions start with Version (high nibble) and Type (low nibble), VRID, Priority and the address count.
/// VRRPv3 follows with 4 reserved bits and the 12-bit Max Adver Int in centiseconds. VRRPv2 follows with the 8-bit
/// Auth Type and the 8-bit Adver Int in whole seconds. Then come the 16-bit checksum and the addresses (4 bytes each
/// over IPv4, 16 over IPv6), and VRRPv2 ends with 8 bytes of Authentication Data.
/// </remarks>
internal static class VrrpPacket
{
    /// <summary>Version/type, VRID, priority, count, interval (and v2 Auth Type), checksum.</summary>
    public const int HeaderLength = 8;

    public const int Ipv4AddressLength = 4;

    public const int Ipv6AddressLength = 16;

    /// <summary>The largest VRRP IPv4 message: the header, 255 addresses and the VRRPv2 Authentication Data.</summary>
    public const int MaxIpv4MessageLength = HeaderLength + (255 * Ipv4AddressLength) + VrrpAuthentication.DataLength;

    /// <summary>The largest VRRPv3 IPv6 message: the header and 255 addresses.</summary>
    public const int MaxIpv6MessageLength = HeaderLength + (255 * Ipv6AddressLength);

    /// <summary>The largest VRRP message of any version and family.</summary>
    public const int MaxMessageLength = MaxIpv6MessageLength;

    /// <summary>The IPv6 multicast group for VRRP (RFC 9568 §5.1.2.2).</summary>
    public static readonly IPAddress Ipv6MulticastGroup = IPAddress.Parse("ff02::12");

    /// <summary>The IPv4 multicast group for VRRP (RFC 9568 §5.1.1.2, RFC 3768 §5.2.2).</summary>
    public static readonly IPAddress Ipv4MulticastGroup = IPAddress.Parse("224.0.0.18");

    /// <summary>The TTL or IPv6 Hop Limit every advertisement is sent with and must arrive with (RFC 9568 §5.1.1.3, §5.1.2.3, §7.1).</summary>
    public const byte RequiredTtl = 255;

    private const int CentisecondsPerSecond = 100;

    /// <summary>Returns the encoded length of <paramref name="advertisement"/>.</summary>
    public static int GetLength(VrrpAdvertisement advertisement) =>
        GetLength(advertisement.Version, advertisement.AddressFamily, advertisement.Addresses.Count);

    private static int GetLength(VrrpVersion version, AddressFamily family, int count) =>
        HeaderLength + (count * GetAddressLength(family)) + (version == VrrpVersion.V2 ? VrrpAuthentication.DataLength : 0);

    private static int GetAddressLength(AddressFamily family) =>
        family == AddressFamily.InterNetworkV6 ? Ipv6AddressLength : Ipv4AddressLength;

    /// <summary>
    /// Writes <paramref name="advertisement"/> and returns the number of bytes written. A VRRPv3 checksum over IPv4
    /// follows <paramref name="checksumMode"/> and uses <paramref name="source"/> and <paramref name="destination"/>
    /// for the pseudo-header. Over IPv6 it always covers the IPv6 pseudo-header (RFC 9568 §5.2.8). A VRRPv2 advert
    /// carries <paramref name="authentication"/> and sums the message alone.
    /// </summary>
    public static int Write(
        VrrpAdvertisement advertisement,
        IPAddress source,
        IPAddress destination,
        Span<byte> buffer,
        VrrpChecksumMode checksumMode = VrrpChecksumMode.PseudoHeader,
        VrrpAuthentication? authentication = null)
    {
        var family = advertisement.AddressFamily;
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new NotSupportedException($"VRRP runs over IPv4 or IPv6, not over {family}.");
        }

        if (family == AddressFamily.InterNetworkV6 && advertisement.Version == VrrpVersion.V2)
        {
            throw new NotSupportedException("VRRPv2 (RFC 3768) runs over IPv4 only; IPv6 needs VRRPv3.");
        }

        if (advertisement.Addresses.Count is 0 or > 255)
        {
            throw new ArgumentException($"An advertisement carries 1 to 255 addresses, not {advertisement.Addresses.Count}.", nameof(advertisement));
        }

        var length = GetLength(advertisement);
        var message = buffer[..length];
        message[0] = (byte)(((int)advertisement.Version << 4) | VrrpAdvertisement.TypeAdvertisement);
        message[1] = advertisement.VirtualRouterId;
        message[2] = advertisement.Priority;
        message[3] = (byte)advertisement.Addresses.Count;
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], 0);

        switch (advertisement.Version)
        {
            case VrrpVersion.V3:
                WriteVersion3Interval(advertisement, message);
                break;
            case VrrpVersion.V2:
                WriteVersion2Fields(advertisement, message, authentication ?? VrrpAuthentication.None);
                break;
            default:
                throw new NotSupportedException($"VRRP version {(int)advertisement.Version} is not implemented.");
        }

        var addressLength = GetAddressLength(family);
        var offset = HeaderLength;
        foreach (var address in advertisement.Addresses)
        {
            if (address.AddressFamily != family)
            {
                throw new ArgumentException("All addresses of an advertisement belong to one address family.", nameof(advertisement));
            }

            address.TryWriteBytes(message.Slice(offset, addressLength), out _);
            offset += addressLength;
        }

        ushort checksum;
        if (family == AddressFamily.InterNetworkV6)
        {
            checksum = InternetChecksum.ComputeVrrpIpv6(source, destination, message);
        }
        else if (advertisement.Version == VrrpVersion.V3 && checksumMode == VrrpChecksumMode.PseudoHeader)
        {
            checksum = InternetChecksum.ComputeVrrpIpv4(source, destination, message);
        }
        else
        {
            checksum = InternetChecksum.ComputeVrrpMessageOnly(message);
        }

        BinaryPrimitives.WriteUInt16BigEndian(message[6..], checksum);
        return length;
    }

    private static void WriteVersion3Interval(VrrpAdvertisement advertisement, Span<byte> message)
    {
        if (advertisement.MaxAdvertisementIntervalCentiseconds is 0 or > VrrpAdvertisement.MaxIntervalCentiseconds)
        {
            throw new ArgumentException($"Max Adver Int must be 1 to {VrrpAdvertisement.MaxIntervalCentiseconds} centiseconds, not {advertisement.MaxAdvertisementIntervalCentiseconds}.", nameof(advertisement));
        }

        // The 4 reserved bits are sent as zero (RFC 9568 §5.2.6).
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], advertisement.MaxAdvertisementIntervalCentiseconds);
    }

    private static void WriteVersion2Fields(VrrpAdvertisement advertisement, Span<byte> message, VrrpAuthentication authentication)
    {
        var centiseconds = advertisement.MaxAdvertisementIntervalCentiseconds;
        if (centiseconds % CentisecondsPerSecond != 0 || centiseconds / CentisecondsPerSecond is 0 or > VrrpAdvertisement.MaxVersion2IntervalSeconds)
        {
            throw new ArgumentException($"A VRRPv2 Adver Int is 1 to {VrrpAdvertisement.MaxVersion2IntervalSeconds} whole seconds, not {centiseconds} centiseconds.", nameof(advertisement));
        }

        message[4] = authentication.Type;
        message[5] = (byte)(centiseconds / CentisecondsPerSecond);
        authentication.Data.CopyTo(message[^VrrpAuthentication.DataLength..]);
    }

    /// <summary>
    /// Reads a whole datagram of the context's address family: an IPv4 datagram as a Linux raw socket delivers it, or
    /// an IPv6 datagram with the fixed header that the IPv6 transport rebuilds from ancillary data.
    /// </summary>
    public static VrrpReadResult ReadDatagram(ReadOnlySpan<byte> datagram, VrrpReadContext context) =>
        context.AddressFamily == AddressFamily.InterNetworkV6
            ? ReadIpv6Datagram(datagram, context)
            : ReadIpv4Datagram(datagram, context);

    /// <summary>Reads an IPv6 datagram that starts with the fixed 40-byte header.</summary>
    public static VrrpReadResult ReadIpv6Datagram(ReadOnlySpan<byte> datagram, VrrpReadContext context)
    {
        if (!Ipv6Header.TryRead(datagram, out var ip, out var offset, out var length, out var problem))
        {
            return VrrpReadResult.Reject(VrrpRejectReason.MalformedIpHeader, problem, ip);
        }

        return Read(datagram.Slice(offset, length), ip, context);
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
    /// Validates a VRRP message in the order of RFC 9568 §7.1 (VRRPv3) or RFC 3768 §7.1 (VRRPv2) and classifies it.
    /// Malformed bytes yield a rejection, not an exception; a fuzz test feeds it random datagrams.
    /// </summary>
    public static VrrpReadResult Read(ReadOnlySpan<byte> message, ReceivedIpInfo ip, VrrpReadContext context)
    {
        if (ip.Protocol != InternetChecksum.VrrpProtocol)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.NotVrrpProtocol, $"IP protocol {ip.Protocol}, expected {InternetChecksum.VrrpProtocol}", ip);
        }

        // A router decrements the TTL or Hop Limit, so 255 proves the sender is on this link (RFC 9568 §7.1, RFC 3768 §7.1).
        if (ip.Ttl != RequiredTtl)
        {
            var field = context.AddressFamily == AddressFamily.InterNetworkV6 ? "hop limit" : "TTL";
            return VrrpReadResult.Reject(VrrpRejectReason.TtlNot255, $"{field} {ip.Ttl}, expected {RequiredTtl}", ip);
        }

        // In unicast mode only the configured peers take part, like keepalived's unicast_peer block.
        if (context.UnicastPeers is { } peers && !peers.Contains(ip.Source))
        {
            return VrrpReadResult.Reject(VrrpRejectReason.UnknownUnicastPeer, $"source {ip.Source} is not in Vrrp:UnicastPeers", ip);
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

        // The message must hold exactly the fixed fields and the addresses it counts, and for VRRPv2 the
        // Authentication Data (RFC 9568 §7.1, RFC 3768 §7.1).
        var count = message[3];
        if (count == 0)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.NoAddresses, "Count IPvX Addr is 0", ip);
        }

        var expectedLength = GetLength(context.Version, context.AddressFamily, count);
        if (message.Length != expectedLength)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.LengthMismatch, $"{message.Length} bytes, but Count IPvX Addr {count} needs {expectedLength}", ip);
        }

        var checksumResult = CheckChecksum(message, ip, context);
        if (checksumResult is { } rejected)
        {
            return rejected;
        }

        var vrid = message[1];
        var version2 = context.Version == VrrpVersion.V2;
        var interval = version2
            ? (ushort)(message[5] * CentisecondsPerSecond)
            : (ushort)(BinaryPrimitives.ReadUInt16BigEndian(message[4..]) & VrrpAdvertisement.MaxIntervalCentiseconds);
        var advertisement = new VrrpAdvertisement((VrrpVersion)version, vrid, message[2], interval, ReadAddresses(message[HeaderLength..], count, GetAddressLength(context.AddressFamily)))
        {
            AuthenticationType = version2 ? message[4] : (byte)0,
        };

        if (vrid != context.VirtualRouterId)
        {
            return new VrrpReadResult(VrrpReadOutcome.OtherVrid, default, $"VRID {vrid}, ours is {context.VirtualRouterId}", ip, advertisement);
        }

        if (version2 && CheckVersion2Fields(message, advertisement, ip, context) is { } version2Rejected)
        {
            return version2Rejected;
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

    /// <summary>
    /// Checks the checksum in the form this router expects. When a VRRPv3 advert fails it but passes the other form,
    /// the rejection names that form, so that the operator learns which <c>Vrrp:ChecksumMode</c> the peer uses.
    /// </summary>
    private static VrrpReadResult? CheckChecksum(ReadOnlySpan<byte> message, ReceivedIpInfo ip, VrrpReadContext context)
    {
        var received = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        if (context.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // RFC 9568 §5.2.8 leaves no choice over IPv6: the pseudo-header is always part of the sum.
            var computedIpv6 = InternetChecksum.ComputeVrrpIpv6(ip.Source, ip.Destination, message);
            return received == computedIpv6
                ? null
                : VrrpReadResult.Reject(VrrpRejectReason.BadChecksum, $"checksum 0x{received:x4}, expected 0x{computedIpv6:x4} (IPv6 pseudo-header)", ip);
        }

        var mode = context.Version == VrrpVersion.V2 ? VrrpChecksumMode.MessageOnly : context.ChecksumMode;
        var computed = Compute(mode, message, ip);
        if (received == computed)
        {
            return null;
        }

        var detail = $"checksum 0x{received:x4}, expected 0x{computed:x4}";
        if (context.Version == VrrpVersion.V3)
        {
            var otherMode = mode == VrrpChecksumMode.PseudoHeader ? VrrpChecksumMode.MessageOnly : VrrpChecksumMode.PseudoHeader;
            if (received == Compute(otherMode, message, ip))
            {
                return VrrpReadResult.Reject(VrrpRejectReason.BadChecksum, $"{detail} ({mode}); it matches the {otherMode} form", ip) with
                {
                    PeerChecksumMode = otherMode,
                };
            }
        }

        return VrrpReadResult.Reject(VrrpRejectReason.BadChecksum, detail, ip);
    }

    private static ushort Compute(VrrpChecksumMode mode, ReadOnlySpan<byte> message, ReceivedIpInfo ip) =>
        mode == VrrpChecksumMode.PseudoHeader
            ? InternetChecksum.ComputeVrrpIpv4(ip.Source, ip.Destination, message)
            : InternetChecksum.ComputeVrrpMessageOnly(message);

    /// <summary>The VRRPv2 checks that follow the VRID check (RFC 3768 §7.1): Auth Type, Authentication Data, Adver Int.</summary>
    private static VrrpReadResult? CheckVersion2Fields(ReadOnlySpan<byte> message, VrrpAdvertisement advertisement, ReceivedIpInfo ip, VrrpReadContext context)
    {
        var expected = context.Authentication;
        if (advertisement.AuthenticationType != expected.Type)
        {
            return VrrpReadResult.Reject(VrrpRejectReason.AuthTypeMismatch, $"Auth Type {advertisement.AuthenticationType}, expected {expected.Type} ({expected})", ip);
        }

        // Auth Type 0 data is ignored on receipt (RFC 3768 §5.3.10). The detail never contains either password.
        if (expected.Type == VrrpAuthentication.TypeSimpleText && !expected.DataMatches(message[^VrrpAuthentication.DataLength..]))
        {
            return VrrpReadResult.Reject(VrrpRejectReason.AuthenticationFailed, "the password differs from Vrrp:AuthenticationPassword", ip);
        }

        // RFC 3768 §7.1: an Adver Int that differs from ours MUST be discarded. VRRPv2 has no rule for adopting the
        // master's interval, unlike VRRPv3's Master_Adver_Interval.
        if (advertisement.MaxAdvertisementIntervalCentiseconds != context.AdvertisementIntervalCentiseconds)
        {
            return VrrpReadResult.Reject(
                VrrpRejectReason.IntervalMismatch,
                $"Adver Int {advertisement.MaxAdvertisementIntervalCentiseconds / CentisecondsPerSecond} s, ours is {context.AdvertisementIntervalCentiseconds / CentisecondsPerSecond} s",
                ip);
        }

        return null;
    }

    private static IPAddress[] ReadAddresses(ReadOnlySpan<byte> data, int count, int addressLength)
    {
        var addresses = new IPAddress[count];
        for (var i = 0; i < count; i++)
        {
            addresses[i] = new IPAddress(data.Slice(i * addressLength, addressLength));
        }

        return addresses;
    }
}
