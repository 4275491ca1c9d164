namespace Tandem.Vrrp.StateMachine;

/// <summary>
/// The side effects of the state machine. <see cref="VirtualRouter"/> calls them while it holds its lock, so an
/// implementation must return quickly and hand slow work (address commands, ARP bursts) to another loop.
/// </summary>
internal interface IVirtualRouterActions
{
    /// <summary>Sends one ADVERTISEMENT with <paramref name="priority"/>; 0 informs the backups that this master is leaving.</summary>
    void SendAdvertisement(byte priority);

    /// <summary>Adds the virtual addresses to the interface and announces them with gratuitous ARP.</summary>
    void ClaimAddresses();

    /// <summary>Announces the virtual addresses again with gratuitous ARP, while this router is already master.</summary>
    void AnnounceAddresses();

    /// <summary>Removes the virtual addresses from the interface.</summary>
    void ReleaseAddresses();

    /// <summary>
    /// Removes the virtual addresses after a completed hand-over, once the speaker's
    /// <see cref="VrrpSpeaker.BeforeHandOverRelease"/> hook, if any, has finished.
    /// </summary>
    void ReleaseAddressesAfterHandOver();
}
