namespace Tandem.Vrrp;

/// <summary>
/// Packet, transition and error counters of one speaker, in the spirit of the VRRP MIB statistics. Every property
/// reads a live value; the counters only grow and are safe to read from any thread.
/// </summary>
public sealed class VrrpCounters
{
    private readonly long[] _rejected = new long[Enum.GetValues<VrrpRejectReason>().Length];
    private long _advertisementsReceived;
    private long _advertisementsSent;
    private long _priorityZeroReceived;
    private long _priorityZeroSent;
    private long _otherVridReceived;
    private long _ownAdvertsReceived;
    private long _addressListMismatches;
    private long _becameMaster;
    private long _receiveErrors;
    private long _sendErrors;
    private long _gratuitousArpSent;
    private long _gratuitousArpFailures;
    private long _neighborAdvertisementsSent;
    private long _neighborAdvertisementFailures;
    private long _addressCommandFailures;
    private long _repliesSuppressed;
    private long _notifyStarted;
    private long _notifyFailed;
    private long _notifyTimedOut;
    private long _notifyDropped;

    /// <summary>Valid advertisements for our VRID from other nodes.</summary>
    public long AdvertisementsReceived => Interlocked.Read(ref _advertisementsReceived);

    /// <summary>Advertisements sent, including those with priority 0.</summary>
    public long AdvertisementsSent => Interlocked.Read(ref _advertisementsSent);

    /// <summary>Valid advertisements with priority 0, sent by a master that is stopping.</summary>
    public long PriorityZeroReceived => Interlocked.Read(ref _priorityZeroReceived);

    /// <summary>Advertisements sent with priority 0 when this node stopped as master.</summary>
    public long PriorityZeroSent => Interlocked.Read(ref _priorityZeroSent);

    /// <summary>Valid advertisements for other virtual routers on the same link. Not a fault.</summary>
    public long OtherVridReceived => Interlocked.Read(ref _otherVridReceived);

    /// <summary>Valid advertisements whose source is one of our own addresses. Not a fault.</summary>
    public long OwnAdvertsReceived => Interlocked.Read(ref _ownAdvertsReceived);

    /// <summary>Valid advertisements whose address list differs from our configured virtual addresses.</summary>
    public long AddressListMismatches => Interlocked.Read(ref _addressListMismatches);

    /// <summary>Transitions into the Master state.</summary>
    public long BecameMaster => Interlocked.Read(ref _becameMaster);

    /// <summary>Socket errors while receiving.</summary>
    public long ReceiveErrors => Interlocked.Read(ref _receiveErrors);

    /// <summary>Socket errors while sending an advertisement.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Gratuitous ARP frames sent.</summary>
    public long GratuitousArpSent => Interlocked.Read(ref _gratuitousArpSent);

    /// <summary>Gratuitous ARP frames that could not be sent, including all of them when libpcap is unavailable.</summary>
    public long GratuitousArpFailures => Interlocked.Read(ref _gratuitousArpFailures);

    /// <summary>Unsolicited neighbour advertisements sent for IPv6 virtual addresses.</summary>
    public long NeighborAdvertisementsSent => Interlocked.Read(ref _neighborAdvertisementsSent);

    /// <summary>Unsolicited neighbour advertisements that could not be sent, including all of them when libpcap is unavailable.</summary>
    public long NeighborAdvertisementFailures => Interlocked.Read(ref _neighborAdvertisementFailures);

    /// <summary>Additions or removals of virtual addresses (RTM_NEWADDR or RTM_DELADDR requests) that failed or timed out.</summary>
    public long AddressCommandFailures => Interlocked.Read(ref _addressCommandFailures);

    /// <summary>
    /// Adverts that this master did not send in reply to a priority-0 or lower-priority advert, because it had already
    /// sent such a reply within its Advertisement_Interval. A steady rise means someone floods the link with such adverts.
    /// </summary>
    public long RepliesSuppressed => Interlocked.Read(ref _repliesSuppressed);

    /// <summary>Runs of the notify command that started.</summary>
    public long NotifyStarted => Interlocked.Read(ref _notifyStarted);

    /// <summary>Runs of the notify command that failed to start, exited with a nonzero code or timed out.</summary>
    public long NotifyFailed => Interlocked.Read(ref _notifyFailed);

    /// <summary>Runs of the notify command killed after the timeout; <see cref="NotifyFailed"/> counts them too.</summary>
    public long NotifyTimedOut => Interlocked.Read(ref _notifyTimedOut);

    /// <summary>Runs of the notify command dropped because too many were waiting or the speaker was stopping.</summary>
    public long NotifyDropped => Interlocked.Read(ref _notifyDropped);

    /// <summary>Total number of packets discarded as invalid, over all reasons.</summary>
    public long Rejected
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _rejected.Length; i++)
            {
                total += Interlocked.Read(ref _rejected[i]);
            }

            return total;
        }
    }

    /// <summary>Returns the number of packets discarded for <paramref name="reason"/>.</summary>
    public long GetRejected(VrrpRejectReason reason) => Interlocked.Read(ref _rejected[(int)reason]);

    /// <summary>Returns the discarded-packet count of every reason, zeros included.</summary>
    public IReadOnlyDictionary<VrrpRejectReason, long> GetRejectedByReason() =>
        Enum.GetValues<VrrpRejectReason>().ToDictionary(reason => reason, GetRejected);

    internal void OnRejected(VrrpRejectReason reason) => Interlocked.Increment(ref _rejected[(int)reason]);

    internal void OnAdvertisementReceived(byte priority)
    {
        Interlocked.Increment(ref _advertisementsReceived);
        if (priority == 0)
        {
            Interlocked.Increment(ref _priorityZeroReceived);
        }
    }

    internal void OnAdvertisementSent(byte priority)
    {
        Interlocked.Increment(ref _advertisementsSent);
        if (priority == 0)
        {
            Interlocked.Increment(ref _priorityZeroSent);
        }
    }

    internal void OnOtherVrid() => Interlocked.Increment(ref _otherVridReceived);

    internal void OnOwnAdvert() => Interlocked.Increment(ref _ownAdvertsReceived);

    internal void OnAddressListMismatch() => Interlocked.Increment(ref _addressListMismatches);

    internal void OnBecameMaster() => Interlocked.Increment(ref _becameMaster);

    internal void OnReceiveError() => Interlocked.Increment(ref _receiveErrors);

    internal void OnSendError() => Interlocked.Increment(ref _sendErrors);

    internal void OnGratuitousArpSent() => Interlocked.Increment(ref _gratuitousArpSent);

    internal void OnGratuitousArpFailures(long frames) => Interlocked.Add(ref _gratuitousArpFailures, frames);

    internal void OnNeighborAdvertisementSent() => Interlocked.Increment(ref _neighborAdvertisementsSent);

    internal void OnNeighborAdvertisementFailures(long frames) => Interlocked.Add(ref _neighborAdvertisementFailures, frames);

    internal void OnAddressCommandFailure() => Interlocked.Increment(ref _addressCommandFailures);

    internal void OnReplySuppressed() => Interlocked.Increment(ref _repliesSuppressed);

    internal void OnNotifyStarted() => Interlocked.Increment(ref _notifyStarted);

    internal void OnNotifyFailed() => Interlocked.Increment(ref _notifyFailed);

    internal void OnNotifyTimedOut() => Interlocked.Increment(ref _notifyTimedOut);

    internal void OnNotifyDropped() => Interlocked.Increment(ref _notifyDropped);
}
