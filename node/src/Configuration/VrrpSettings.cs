using Tandem.Vrrp;

namespace Tandem.Node.Configuration;

/// <summary>The node's virtual routers and sync groups after validation.</summary>
internal sealed record VrrpSettings(IReadOnlyList<VrrpRouterSettings> Routers, IReadOnlyList<VrrpSyncGroupSettings> SyncGroups)
{
    /// <summary>Returns the router called <paramref name="name"/>, compared without case, or null.</summary>
    public VrrpRouterSettings? FindRouter(string name) =>
        Routers.FirstOrDefault(router => string.Equals(router.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>One virtual router: its name, and its settings with the values inherited from the <c>Vrrp</c> section.</summary>
/// <param name="Name">From <c>Vrrp:Routers:N:Name</c>, or <c>Vrrp:Name</c> for the single router of the <c>Vrrp</c> section.</param>
/// <param name="ConfigurationPath">Where the router is configured, for example <c>Vrrp:Routers:0</c> or <c>Vrrp</c>.</param>
internal sealed record VrrpRouterSettings(string Name, VrrpOptions Options, string ConfigurationPath);

/// <summary>A sync group: virtual routers that enter and leave the Master state together, like keepalived's <c>vrrp_sync_group</c>.</summary>
internal sealed record VrrpSyncGroupSettings(string Name, IReadOnlyList<string> Routers);
