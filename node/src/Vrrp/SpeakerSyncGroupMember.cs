using Tandem.Vrrp;

namespace Tandem.Node.Vrrp;

/// <summary>A sync group member backed by a router's running speaker.</summary>
internal sealed class SpeakerSyncGroupMember(VrrpRouter router) : ISyncGroupMember
{
    public string Name => router.Name;

    public VrrpState State => router.Speaker.State;

    public bool InMaintenance => router.Speaker.InMaintenance;

    public bool HandingOver => router.Speaker.HandingOver;

    public DateTimeOffset? MasterHeardAt => router.Speaker.MasterHeard?.At;

    public TimeSpan AdvertisementInterval => TimeSpan.FromMilliseconds(router.Options.AdvertisementIntervalCentiseconds * 10);

    public Task<VrrpHandOverResult> HandOverAsync(string reason) => router.Speaker.HandOverAsync(reason);

    public bool TakeOver(string reason) => router.Speaker.TakeOver(reason);
}
