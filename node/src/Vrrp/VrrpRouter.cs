using Tandem.Node.Configuration;
using Tandem.Vrrp;

namespace Tandem.Node.Vrrp;

/// <summary>One virtual router of the node: its configured name and settings, and the speaker that runs it.</summary>
internal sealed class VrrpRouter(VrrpRouterSettings settings, VrrpSpeaker speaker)
{
    public string Name => settings.Name;

    public VrrpOptions Options => settings.Options;

    /// <summary>Where the router is configured, for example <c>Vrrp:Routers:0</c>, for messages.</summary>
    public string ConfigurationPath => settings.ConfigurationPath;

    public VrrpSpeaker Speaker { get; } = speaker;

    /// <summary>The sync group the router belongs to, or null.</summary>
    public string? SyncGroup { get; init; }

    public VrrpState State => Speaker.State;

    public override string ToString() => $"{Name} (VRID {Options.VirtualRouterId} on {Options.Interface})";
}
