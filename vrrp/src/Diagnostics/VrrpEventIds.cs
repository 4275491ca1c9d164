namespace Tandem.Vrrp.Diagnostics;

/// <summary>The event ids of every log message in Tandem.Vrrp, in one table so that no two messages share an id.</summary>
internal static class VrrpEventIds
{
    // State machine, 1-19.
    public const int StateChanged = 1;
    public const int ImpossibleTransition = 2;
    public const int StateChangedHandlerFailed = 3;
    public const int PriorityZeroReceived = 4;
    public const int PreemptDiscarded = 5;
    public const int LowerPriorityAnswered = 6;
    public const int MasterAdverIntervalChanged = 7;
    public const int PriorityZeroRepeated = 8;
    public const int HandOverStarted = 9;
    public const int HandOverTimedOut = 10;
    public const int MaintenanceChanged = 11;
    public const int TakeoverSkippedInMaintenance = 12;
    public const int MaintenanceChangedHandlerFailed = 13;
    public const int EffectivePriorityChanged = 14;
    public const int FaultEntered = 15;
    public const int FaultLeft = 16;
    public const int TakeoverSkippedInFault = 17;
    public const int FaultChangedHandlerFailed = 18;

    // Packets, 20-39.
    public const int PacketRejected = 20;
    public const int PacketFromOtherVrid = 21;
    public const int OwnAdvertReceived = 22;
    public const int AddressListMismatch = 23;
    public const int PeerUsesOtherChecksumMode = 24;
    public const int PacketRejectsRepeated = 25;
    public const int PeerUsesOtherChecksumModeRepeated = 26;
    public const int AddressListMismatchRepeated = 27;

    // Socket, 40-59.
    public const int ReceiveFailed = 42;
    public const int SendFailed = 43;
    public const int ReceiveLoopFailed = 44;
    public const int PacketHandlingFailed = 45;
    public const int SocketErrorsRepeated = 46;

    // Virtual addresses, 60-79.
    public const int AddressAdded = 60;
    public const int AddressRemoved = 61;

    // 62 to 64 were the failures of the 'ip' command, which netlink replaced. They stay unused, so that an old id never
    // gets a new meaning in log queries.
    public const int AddressWorkerCommandFailed = 65;
    public const int StaleAddressRemoved = 66;
    public const int AddressNotPresent = 67;
    public const int AddressReleaseWaitFailed = 68;
    public const int NetlinkRequestFailed = 69;

    // Gratuitous ARP, 80-99.
    public const int GratuitousArpSent = 80;
    public const int GratuitousArpUnavailable = 81;
    public const int GratuitousArpFailed = 82;

    // Speaker lifecycle, 100-119.
    public const int SpeakerStarting = 100;
    public const int SpeakerStarted = 101;
    public const int SpeakerStopping = 102;
    public const int SpeakerStopped = 103;
    public const int InterfaceResolved = 104;

    // Tracked conditions and notifications, 120-139.
    public const int TrackedConditionFailed = 120;
    public const int TrackedConditionRecovered = 121;
    public const int NotifyCommandFailed = 122;
    public const int NotifyCommandTimedOut = 123;
    public const int NotifyCommandDropped = 124;

    // Unsolicited neighbour advertisements, 140-159.
    public const int NeighborAdvertisementSent = 140;
    public const int NeighborAdvertisementUnavailable = 141;
    public const int NeighborAdvertisementFailed = 142;
}
