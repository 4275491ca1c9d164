using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Tandem.Vrrp;
using Tandem.Vrrp.Tracking;

namespace Tandem.Node.Configuration;

/// <summary>
/// Binds and checks the <c>Vrrp</c> section: one virtual router from the section itself, or one per entry of
/// <c>Vrrp:Routers</c>, each inheriting the settings it leaves unset from the section, and the <c>Vrrp:SyncGroups</c>.
/// </summary>
internal static partial class VrrpSettingsLoader
{
    public const string RoutersKey = "Routers";
    public const string SyncGroupsKey = "SyncGroups";
    public const string NameKey = "Name";

    /// <summary>Name of the single router configured by the <c>Vrrp</c> section when <c>Vrrp:Name</c> is not set.</summary>
    public const string DefaultRouterName = "default";

    private const int MaxNameLength = 32;

    /// <summary>Settings that identify one router, so a value in the <c>Vrrp</c> section cannot serve as every router's default.</summary>
    private static readonly string[] PerRouterKeys = [nameof(VrrpOptions.VirtualRouterId), nameof(VrrpOptions.VirtualAddresses)];

    private static readonly PropertyInfo[] InheritedProperties = typeof(VrrpOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(property => property.CanWrite)
        .ToArray();

    /// <summary>
    /// Returns the virtual routers and sync groups, or null when VRRP is off: <c>Vrrp:Routers</c> is empty and
    /// <c>Vrrp:Interface</c> is empty. Every error goes to <paramref name="errors"/>, naming the setting and the fix.
    /// </summary>
    public static VrrpSettings? Load(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection(VrrpOptions.SectionName);
        var shared = SectionBinder.BindExcept<VrrpOptions>(section, errors, [NameKey, RoutersKey, SyncGroupsKey]);
        RejectScalarTrackEntries(section, shared, errors);
        var routerSections = OrderByIndex(section.GetSection(RoutersKey));

        return routerSections.Count == 0
            ? LoadSingleRouter(section, shared, errors)
            : LoadRouterList(section, shared, routerSections, errors);
    }

    /// <summary>Loads today's form: the <c>Vrrp</c> section is the node's only virtual router.</summary>
    private static VrrpSettings? LoadSingleRouter(IConfigurationSection section, VrrpOptions options, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.Interface))
        {
            var ignored = section.GetChildren()
                .Where(child => !child.Key.Equals(nameof(VrrpOptions.Interface), StringComparison.OrdinalIgnoreCase) && IsSet(child))
                .Select(child => child.Path)
                .ToList();
            if (ignored.Count > 0)
            {
                errors.Add(
                    $"Vrrp:Interface is empty, so VRRP is off and {string.Join(", ", ignored)} would be ignored. " +
                    "Set Vrrp:Interface to the interface that carries the virtual addresses, for example eth0, " +
                    "or remove the other Vrrp settings to run a single node without VRRP.");
            }

            return null;
        }

        if (IsSet(section.GetSection(SyncGroupsKey)))
        {
            errors.Add(
                "Vrrp:SyncGroups is set, but Vrrp:Routers is empty, so the node runs one virtual router and there is " +
                "nothing to synchronize. Configure the routers under Vrrp:Routers, or remove Vrrp:SyncGroups.");
        }

        var name = section[NameKey] is { Length: > 0 } configured ? configured : DefaultRouterName;
        ValidateName($"{VrrpOptions.SectionName}:{NameKey}", name, errors);

        // The VRRP library owns the rules for its settings, and its messages name the setting, value and fix.
        errors.AddRange(options.Validate());
        return new VrrpSettings([new VrrpRouterSettings(name, options, VrrpOptions.SectionName)], []);
    }

    private static VrrpSettings LoadRouterList(
        IConfigurationSection section,
        VrrpOptions shared,
        List<IConfigurationSection> routerSections,
        List<string> errors)
    {
        foreach (var key in PerRouterKeys.Append(NameKey))
        {
            if (IsSet(section.GetSection(key)))
            {
                errors.Add(
                    $"Vrrp:{key} is set next to Vrrp:{RoutersKey}. It belongs to one router, so set it in each entry of " +
                    $"Vrrp:{RoutersKey} instead and remove Vrrp:{key}.");
            }
        }

        var routers = new List<VrrpRouterSettings>();
        var routerErrors = new List<string>();
        foreach (var routerSection in routerSections)
        {
            var options = SectionBinder.BindExcept<VrrpOptions>(routerSection, errors, [NameKey]);
            RejectScalarTrackEntries(routerSection, options, errors);
            Inherit(options, shared, routerSection);

            var name = routerSection[NameKey] ?? "";
            var namePath = $"{routerSection.Path}:{NameKey}";
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add($"{namePath} is missing. Give every router a name, for example \"web\", so that status and control calls can refer to it.");
            }
            else
            {
                ValidateName(namePath, name, errors);
            }

            // The library's messages name the Vrrp:... key. Point each one at the router's own key when the router
            // sets it, and leave inherited ones at the shared key, which is where the fix goes.
            foreach (var message in options.Validate())
            {
                routerErrors.Add(PointAtRouter(message, routerSection));
            }

            routers.Add(new VrrpRouterSettings(name, options, routerSection.Path));
        }

        // An invalid shared value is reported once, not once per router that inherits it.
        errors.AddRange(routerErrors.Distinct(StringComparer.Ordinal));

        CheckRoutersDiffer(routers, errors);
        var groups = LoadSyncGroups(section.GetSection(SyncGroupsKey), routers, errors);
        return new VrrpSettings(routers, groups);
    }

    /// <summary>
    /// Reports a <c>Track</c> entry written as a plain string, such as <c>["store"]</c>, and blanks the entry, so that
    /// the library's check does not report it again as an empty condition.
    /// </summary>
    private static void RejectScalarTrackEntries(IConfigurationSection section, VrrpOptions options, List<string> errors)
    {
        var track = section.GetSection(nameof(VrrpOptions.Track));
        var entries = track.GetChildren()
            .Select(child => (Child: child, Index: int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1))
            .Where(entry => entry.Index >= 0)
            .OrderBy(entry => entry.Index)
            .Select(entry => entry.Child)
            .ToList();

        if (entries.Count == 0 && !string.IsNullOrEmpty(track.Value))
        {
            errors.Add(
                $"{track.Path} is '{track.Value}', but it must be a JSON array of objects with {nameof(VrrpTrackOptions.Condition)} and " +
                $"{nameof(VrrpTrackOptions.Weight)}. Write it as [{{\"Condition\": \"{track.Value}\", \"Weight\": 0}}]; weight 0 makes a failure a " +
                "fault, and 1 to 253 lowers the priority by that much.");
            return;
        }

        // The binder adds one list entry per numeric key in this order, so position i is options.Track[i].
        for (var i = 0; i < entries.Count && i < options.Track.Count; i++)
        {
            var entry = entries[i];
            if (entry.Value is null || entry.GetChildren().Any())
            {
                continue;
            }

            errors.Add(
                $"{entry.Path} is '{entry.Value}', but each entry of {track.Path} must be an object with " +
                $"{nameof(VrrpTrackOptions.Condition)} and {nameof(VrrpTrackOptions.Weight)}. Write it as " +
                $"{{\"Condition\": \"{entry.Value}\", \"Weight\": 0}}; weight 0 makes a failure a fault, and 1 to 253 lowers the " +
                "priority by that much.");

            // TrackingOptionsValidator and the tracked condition monitor skip null entries.
            options.Track[i] = null!;
        }
    }

    /// <summary>Copies every setting that <paramref name="routerSection"/> leaves unset from the <c>Vrrp</c> section.</summary>
    private static void Inherit(VrrpOptions router, VrrpOptions shared, IConfigurationSection routerSection)
    {
        foreach (var property in InheritedProperties)
        {
            if (routerSection.GetSection(property.Name).Exists())
            {
                continue;
            }

            var value = property.GetValue(shared);

            // A list set in a router replaces the shared one as a whole, and routers must not share one list object.
            if (value is System.Collections.IList list)
            {
                var copy = (System.Collections.IList)Activator.CreateInstance(list.GetType())!;
                foreach (var item in list)
                {
                    copy.Add(item);
                }

                value = copy;
            }

            property.SetValue(router, value);
        }
    }

    private static string PointAtRouter(string message, IConfigurationSection routerSection) =>
        SettingKey().Replace(message, match =>
        {
            var key = match.Groups["key"].Value;
            var routerOwnsKey = routerSection.GetSection(key).Exists() || PerRouterKeys.Contains(key, StringComparer.OrdinalIgnoreCase);
            return routerOwnsKey ? $"{routerSection.Path}:{key}" : match.Value;
        });

    /// <summary>
    /// Checks the rules between routers: unique names, a VRID used once per interface and address family (an advert
    /// carries no other identifier, RFC 9568 §5.2.3), and each virtual address in one router only.
    /// </summary>
    private static void CheckRoutersDiffer(List<VrrpRouterSettings> routers, List<string> errors)
    {
        var names = new Dictionary<string, VrrpRouterSettings>(StringComparer.OrdinalIgnoreCase);
        var vrids = new Dictionary<(string Interface, AddressFamily Family, int Vrid), VrrpRouterSettings>();
        var addresses = new Dictionary<IPAddress, VrrpRouterSettings>();

        foreach (var router in routers)
        {
            if (router.Name.Length > 0 && !names.TryAdd(router.Name, router))
            {
                errors.Add(
                    $"{router.ConfigurationPath}:{NameKey} '{router.Name}' is also the name of {names[router.Name].ConfigurationPath}. " +
                    "Give every router its own name.");
            }

            var parsed = ParseAddresses(router.Options.VirtualAddresses);
            if (parsed.Count > 0)
            {
                var key = (router.Options.Interface, parsed[0].Address.AddressFamily, router.Options.VirtualRouterId);
                if (!vrids.TryAdd(key, router))
                {
                    var other = vrids[key];
                    errors.Add(
                        $"{router.ConfigurationPath}:{nameof(VrrpOptions.VirtualRouterId)} {router.Options.VirtualRouterId} is also the VRID of " +
                        $"router '{other.Name}' ({other.ConfigurationPath}) on {router.Options.Interface}. Adverts carry only the VRID, so give " +
                        "each router on one interface its own VRID, the same on every node.");
                }
            }

            for (var i = 0; i < parsed.Count; i++)
            {
                var (address, text) = parsed[i];
                if (addresses.TryGetValue(address, out var owner) && owner != router)
                {
                    errors.Add(
                        $"{router.ConfigurationPath}:{nameof(VrrpOptions.VirtualAddresses)} '{text}' is also a virtual address of " +
                        $"router '{owner.Name}' ({owner.ConfigurationPath}). An address can move with one router only; remove it from one of them.");
                    continue;
                }

                addresses[address] = router;
            }
        }
    }

    private static List<VrrpSyncGroupSettings> LoadSyncGroups(IConfigurationSection section, List<VrrpRouterSettings> routers, List<string> errors)
    {
        var groups = new List<VrrpSyncGroupSettings>();
        var groupNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var groupOfRouter = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        foreach (var groupSection in OrderByIndex(section))
        {
            foreach (var child in groupSection.GetChildren())
            {
                if (!child.Key.Equals(NameKey, StringComparison.OrdinalIgnoreCase) && !child.Key.Equals(RoutersKey, StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"{child.Path} is not a setting of {groupSection.Path}. Check the spelling. The settings are {NameKey}, {RoutersKey}.");
                }
            }

            var name = groupSection[NameKey] ?? "";
            var namePath = $"{groupSection.Path}:{NameKey}";
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add($"{namePath} is missing. Give every sync group a name, for example \"frontend\", for the logs.");
            }
            else if (ValidateName(namePath, name, errors) && !groupNames.Add(name))
            {
                errors.Add($"{namePath} '{name}' is also the name of an earlier sync group. Give every sync group its own name.");
            }

            var members = SectionBinder.ReadList(groupSection.GetSection(RoutersKey));
            var routersPath = $"{groupSection.Path}:{RoutersKey}";
            if (members.Count < 2)
            {
                errors.Add(
                    $"{routersPath} lists {members.Count} router(s). A sync group keeps two or more routers in step, so list " +
                    "at least two names from Vrrp:Routers, or remove the group.");
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < members.Count; i++)
            {
                var member = members[i];
                if (!routers.Any(router => string.Equals(router.Name, member, StringComparison.OrdinalIgnoreCase)))
                {
                    var known = string.Join(", ", routers.Select(router => router.Name));
                    errors.Add($"{routersPath}:{i} '{member}' is not the name of a router in Vrrp:Routers. Use one of: {known}.");
                    continue;
                }

                if (!seen.Add(member))
                {
                    errors.Add($"{routersPath}:{i} '{member}' repeats an earlier entry. Remove the duplicate.");
                    continue;
                }

                if (!groupOfRouter.TryAdd(member, name))
                {
                    errors.Add(
                        $"{routersPath}:{i} '{member}' is already in sync group '{groupOfRouter[member]}'. A router can follow " +
                        "one group only, as in keepalived; merge the two groups or remove it from one.");
                }
            }

            groups.Add(new VrrpSyncGroupSettings(name, members));
        }

        return groups;
    }

    /// <summary>Adds an error and returns false when <paramref name="name"/> is not a valid router or group name.</summary>
    private static bool ValidateName(string path, string name, List<string> errors)
    {
        if (name.Length <= MaxNameLength && ValidName().IsMatch(name))
        {
            return true;
        }

        errors.Add(
            $"{path} '{name}' is not a valid name. Use 1 to {MaxNameLength} letters, digits, '-', '_' or '.', " +
            "starting with a letter or digit, for example \"web\".");
        return false;
    }

    private static List<(IPAddress Address, string Text)> ParseAddresses(List<string>? texts)
    {
        var result = new List<(IPAddress, string)>();
        foreach (var text in texts ?? [])
        {
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address))
            {
                result.Add((address, text));
            }
        }

        return result;
    }

    /// <summary>Returns the children of an array section in index order ("10" after "9").</summary>
    private static List<IConfigurationSection> OrderByIndex(IConfigurationSection section) =>
        section.GetChildren()
            .OrderBy(child => int.TryParse(child.Key, out var index) ? index : int.MaxValue)
            .ToList();

    /// <summary>True when the setting, or any setting below it, has a value that is not empty.</summary>
    private static bool IsSet(IConfigurationSection section) =>
        !string.IsNullOrEmpty(section.Value) || section.GetChildren().Any(IsSet);

    [GeneratedRegex(@"\bVrrp:(?<key>[A-Za-z]+)")]
    private static partial Regex SettingKey();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    private static partial Regex ValidName();
}
