namespace Tandem.Vrrp.Packets;

/// <summary>What a received packet turned out to be.</summary>
internal enum VrrpReadOutcome
{
    /// <summary>A valid advertisement for our virtual router from another node.</summary>
    Accepted,

    /// <summary>Invalid; <see cref="VrrpReadResult.Reason"/> is the cause.</summary>
    Rejected,

    /// <summary>A valid advertisement for another virtual router on the same link. Not a fault.</summary>
    OtherVrid,

    /// <summary>A valid advertisement sent from one of our own addresses, for example looped back. Not a fault.</summary>
    OwnAdvert,
}

/// <summary>The outcome of reading one received packet, with the advertisement when the packet was valid.</summary>
internal readonly record struct VrrpReadResult(
    VrrpReadOutcome Outcome,
    VrrpRejectReason Reason,
    string? Detail,
    ReceivedIpInfo Ip,
    VrrpAdvertisement? Advertisement)
{
    /// <summary>
    /// For a VRRPv3 advert rejected as <see cref="VrrpRejectReason.BadChecksum"/>: the other checksum form, when
    /// the advert passes it. Null otherwise.
    /// </summary>
    public VrrpChecksumMode? PeerChecksumMode { get; init; }

    public static VrrpReadResult Reject(VrrpRejectReason reason, string detail, ReceivedIpInfo ip) =>
        new(VrrpReadOutcome.Rejected, reason, detail, ip, null);
}
