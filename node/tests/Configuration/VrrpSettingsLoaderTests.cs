using Microsoft.Extensions.Configuration;
using Tandem.Node.Configuration;

namespace Tandem.Node.Tests.Configuration;

public sealed class VrrpSettingsLoaderTests
{
    /// <summary>Two routers on lo that inherit the interface, version and interval from the Vrrp section.</summary>
    private static Dictionary<string, string?> TwoRouters() => new()
    {
        ["Vrrp:Interface"] = "lo",
        ["Vrrp:Priority"] = "150",
        ["Vrrp:AdvertisementIntervalCentiseconds"] = "50",
        ["Vrrp:Routers:0:Name"] = "web",
        ["Vrrp:Routers:0:VirtualRouterId"] = "51",
        ["Vrrp:Routers:0:VirtualAddresses:0"] = "198.51.100.100/24",
        ["Vrrp:Routers:1:Name"] = "db",
        ["Vrrp:Routers:1:VirtualRouterId"] = "52",
        ["Vrrp:Routers:1:Priority"] = "100",
        ["Vrrp:Routers:1:VirtualAddresses:0"] = "198.51.100.101/24",
    };

    private static (VrrpSettings? Settings, List<string> Errors) Load(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var errors = new List<string>();
        return (VrrpSettingsLoader.Load(configuration, errors), errors);
    }

    [Fact]
    public void Load_NoVrrpSection_TurnsVrrpOff()
    {
        var (settings, errors) = Load([]);

        Assert.Null(settings);
        Assert.Empty(errors);
    }

    [Fact]
    public void Load_SingleRouterName_NamesRouter()
    {
        var (settings, errors) = Load(new()
        {
            ["Vrrp:Interface"] = "lo",
            ["Vrrp:Name"] = "front",
            ["Vrrp:VirtualRouterId"] = "51",
            ["Vrrp:VirtualAddresses:0"] = "198.51.100.100/24",
        });

        Assert.Empty(errors);
        var router = Assert.Single(settings!.Routers);
        Assert.Equal("front", router.Name);
        Assert.Equal("Vrrp", router.ConfigurationPath);
    }

    [Fact]
    public void Load_RouterList_InheritsUnsetSettings()
    {
        var (settings, errors) = Load(TwoRouters());

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(["web", "db"], settings.Routers.Select(router => router.Name));

        var web = settings.Routers[0].Options;
        Assert.Equal("lo", web.Interface);
        Assert.Equal(150, web.Priority);
        Assert.Equal(50, web.AdvertisementIntervalCentiseconds);
        Assert.Equal(51, web.VirtualRouterId);

        var db = settings.Routers[1].Options;
        Assert.Equal("lo", db.Interface);
        Assert.Equal(100, db.Priority);
        Assert.Equal(50, db.AdvertisementIntervalCentiseconds);
        Assert.Equal(["198.51.100.101/24"], db.VirtualAddresses);
        Assert.Equal("Vrrp:Routers:1", settings.Routers[1].ConfigurationPath);
    }

    [Fact]
    public void Load_RouterList_ReplacesInheritedList()
    {
        var values = TwoRouters();
        values["Vrrp:UnicastPeers:0"] = "198.51.100.11";
        values["Vrrp:UnicastPeers:1"] = "198.51.100.12";
        values["Vrrp:Routers:1:UnicastPeers:0"] = "198.51.100.13";

        var (settings, errors) = Load(values);

        Assert.Empty(errors);
        Assert.Equal(["198.51.100.11", "198.51.100.12"], settings!.Routers[0].Options.UnicastPeers);
        Assert.Equal(["198.51.100.13"], settings.Routers[1].Options.UnicastPeers);
        Assert.NotSame(settings.Routers[0].Options.UnicastPeers, settings.Routers[1].Options.UnicastPeers);
    }

    [Fact]
    public void Load_RouterList_InheritsTrackedConditions()
    {
        var values = TwoRouters();
        values["Vrrp:Track:0:Condition"] = "link:lo";
        values["Vrrp:Track:0:Weight"] = "20";

        var (settings, errors) = Load(values);

        Assert.Empty(errors);
        var web = Assert.Single(settings!.Routers[0].Options.Track);
        Assert.Equal("link:lo", web.Condition);
        Assert.Single(settings.Routers[1].Options.Track);
        Assert.NotSame(settings.Routers[0].Options.Track, settings.Routers[1].Options.Track);
    }

    [Fact]
    public void Load_DuplicateName_ReportsBoth()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:Name"] = "WEB";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:Name 'WEB' is also the name of Vrrp:Routers:0.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingName_ReportsFix()
    {
        var values = TwoRouters();
        values.Remove("Vrrp:Routers:1:Name");

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:Name is missing.", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("web app")]
    [InlineData("-web")]
    [InlineData("a-name-that-is-longer-than-32-chars")]
    public void Load_InvalidName_Reported(string name)
    {
        var values = TwoRouters();
        values["Vrrp:Routers:0:Name"] = name;

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith($"Vrrp:Routers:0:Name '{name}' is not a valid name.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SameVridSameInterface_Reported()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:VirtualRouterId"] = "51";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:VirtualRouterId 51 is also the VRID of router 'web' (Vrrp:Routers:0) on lo.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SameVridOtherInterface_Accepted()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:VirtualRouterId"] = "51";
        values["Vrrp:Routers:1:Interface"] = "lo";

        var (_, sameInterfaceErrors) = Load(values);
        Assert.Single(sameInterfaceErrors);

        // The interface check of VrrpOptions needs an existing interface, so compare the two sets of rules directly:
        // the VRID rule keys on the interface name, and only a name that differs makes the pair valid.
        values["Vrrp:Routers:1:Interface"] = "lo2";
        var (_, otherInterfaceErrors) = Load(values);
        Assert.DoesNotContain(otherInterfaceErrors, error => error.Contains("is also the VRID", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_SameVridOtherFamily_Accepted()
    {
        // RFC 9568 keeps IPv4 and IPv6 in separate virtual routers, so VRID 51 may exist once for each family.
        var values = TwoRouters();
        values["Vrrp:Routers:1:VirtualRouterId"] = "51";
        values["Vrrp:Routers:1:VirtualAddresses:0"] = "fe80::100/64";

        var (_, errors) = Load(values);

        Assert.DoesNotContain(errors, error => error.Contains("is also the VRID", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_AddressInTwoRouters_Reported()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:VirtualAddresses:1"] = "198.51.100.100/24";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:VirtualAddresses '198.51.100.100/24' is also a virtual address of router 'web' (Vrrp:Routers:0).", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Vrrp:VirtualRouterId", "51")]
    [InlineData("Vrrp:VirtualAddresses:0", "198.51.100.102/24")]
    [InlineData("Vrrp:Name", "front")]
    public void Load_PerRouterSettingInSection_Reported(string key, string value)
    {
        var values = TwoRouters();
        values[key] = value;

        var (_, errors) = Load(values);

        var setting = key.Split(':')[1];
        Assert.Contains(errors, error => error.StartsWith($"Vrrp:{setting} is set next to Vrrp:Routers.", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_InvalidRouterValue_NamesRouterKey()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:Priority"] = "300";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:Priority 300 is out of range.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidSharedValue_ReportedOnce()
    {
        var values = TwoRouters();
        values.Remove("Vrrp:Routers:1:Priority");
        values["Vrrp:Priority"] = "300";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Priority 300 is out of range.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingVrid_NamesRouterKey()
    {
        var values = TwoRouters();
        values.Remove("Vrrp:Routers:0:VirtualRouterId");

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:0:VirtualRouterId 0 is out of range.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownRouterSetting_Reported()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:0:Priorty"] = "100";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:0:Priorty is not a setting of Vrrp:Routers:0.", error, StringComparison.Ordinal);
        Assert.Contains("Name", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SyncGroup_Bound()
    {
        var values = TwoRouters();
        values["Vrrp:SyncGroups:0:Name"] = "frontend";
        values["Vrrp:SyncGroups:0:Routers:0"] = "web";
        values["Vrrp:SyncGroups:0:Routers:1"] = "db";

        var (settings, errors) = Load(values);

        Assert.Empty(errors);
        var group = Assert.Single(settings!.SyncGroups);
        Assert.Equal("frontend", group.Name);
        Assert.Equal(["web", "db"], group.Routers);
    }

    [Fact]
    public void Load_SyncGroupUnknownRouter_ListsKnown()
    {
        var values = TwoRouters();
        values["Vrrp:SyncGroups:0:Name"] = "frontend";
        values["Vrrp:SyncGroups:0:Routers:0"] = "web";
        values["Vrrp:SyncGroups:0:Routers:1"] = "cache";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.Equal("Vrrp:SyncGroups:0:Routers:1 'cache' is not the name of a router in Vrrp:Routers. Use one of: web, db.", error);
    }

    [Fact]
    public void Load_SyncGroupOfOne_Reported()
    {
        var values = TwoRouters();
        values["Vrrp:SyncGroups:0:Name"] = "frontend";
        values["Vrrp:SyncGroups:0:Routers:0"] = "web";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:SyncGroups:0:Routers lists 1 router(s).", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RouterInTwoGroups_Reported()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:2:Name"] = "cache";
        values["Vrrp:Routers:2:VirtualRouterId"] = "53";
        values["Vrrp:Routers:2:VirtualAddresses:0"] = "198.51.100.102/24";
        values["Vrrp:SyncGroups:0:Name"] = "one";
        values["Vrrp:SyncGroups:0:Routers:0"] = "web";
        values["Vrrp:SyncGroups:0:Routers:1"] = "db";
        values["Vrrp:SyncGroups:1:Name"] = "two";
        values["Vrrp:SyncGroups:1:Routers:0"] = "cache";
        values["Vrrp:SyncGroups:1:Routers:1"] = "db";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:SyncGroups:1:Routers:1 'db' is already in sync group 'one'.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SyncGroupsWithoutRouterList_Reported()
    {
        var (_, errors) = Load(new()
        {
            ["Vrrp:Interface"] = "lo",
            ["Vrrp:VirtualRouterId"] = "51",
            ["Vrrp:VirtualAddresses:0"] = "198.51.100.100/24",
            ["Vrrp:SyncGroups:0:Name"] = "frontend",
        });

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:SyncGroups is set, but Vrrp:Routers is empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ManyErrors_CollectsAll()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:0:Priority"] = "0";
        values["Vrrp:Routers:1:VirtualRouterId"] = "51";
        values["Vrrp:SyncGroups:0:Name"] = "frontend";

        var (_, errors) = Load(values);

        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Load_MissingNotifyCommand_NamesRouterKey()
    {
        var values = TwoRouters();
        values["Vrrp:NotifyCommand"] = "/bin/echo hello";
        values["Vrrp:Routers:1:NotifyCommand"] = "/nonexistent/tandem-notify.sh";

        var (_, errors) = Load(values);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, error => error.StartsWith("Vrrp:NotifyCommand '/bin/echo hello' contains arguments.", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.StartsWith("Vrrp:Routers:1:NotifyCommand '/nonexistent/tandem-notify.sh' is not found.", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_TrackEntryAsString_AsksForObject()
    {
        var values = new Dictionary<string, string?>
        {
            ["Vrrp:Interface"] = "lo",
            ["Vrrp:VirtualRouterId"] = "51",
            ["Vrrp:VirtualAddresses:0"] = "198.51.100.100/24",
            ["Vrrp:Track:0:Condition"] = "listener",
            ["Vrrp:Track:0:Weight"] = "10",
            ["Vrrp:Track:1"] = "store",
        };

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Track:1 is 'store', but each entry of Vrrp:Track must be an object with Condition and Weight.", error, StringComparison.Ordinal);
        Assert.Contains("{\"Condition\": \"store\", \"Weight\": 0}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SharedTrackEntryAsString_ReportedOnce()
    {
        var values = TwoRouters();
        values["Vrrp:Track:0"] = "store";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Track:0 is 'store', but each entry of Vrrp:Track must be an object", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TrackAsString_AsksForArray()
    {
        var values = TwoRouters();
        values["Vrrp:Routers:1:Track"] = "store";

        var (_, errors) = Load(values);

        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Routers:1:Track is 'store', but it must be a JSON array of objects with Condition and Weight.", error, StringComparison.Ordinal);
    }
}
