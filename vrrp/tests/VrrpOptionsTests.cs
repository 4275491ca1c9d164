namespace Tandem.Vrrp.Tests;

public sealed class VrrpOptionsTests
{
    // lo exists in every Linux network namespace, so Validate() finds it on any test host.
    private static VrrpOptions Valid() => new()
    {
        Interface = "lo",
        VirtualRouterId = 51,
        Priority = 150,
        VirtualAddresses = ["198.51.100.100/24"],
    };

    [Fact]
    public void Validate_ValidOptions_NoErrors()
    {
        Assert.Empty(Valid().Validate());
    }

    [Fact]
    public void Validate_Defaults_ReportsEveryMissingSetting()
    {
        var errors = new VrrpOptions().Validate();

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Vrrp:Interface is missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Vrrp:VirtualRouterId 0 is out of range", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Vrrp:VirtualAddresses is empty", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(nameof(VrrpOptions.VirtualRouterId), 256, "Vrrp:VirtualRouterId 256")]
    [InlineData(nameof(VrrpOptions.Priority), 0, "Vrrp:Priority 0")]
    [InlineData(nameof(VrrpOptions.Priority), 256, "Vrrp:Priority 256")]
    [InlineData(nameof(VrrpOptions.AdvertisementIntervalCentiseconds), 0, "Vrrp:AdvertisementIntervalCentiseconds 0")]
    [InlineData(nameof(VrrpOptions.AdvertisementIntervalCentiseconds), 4096, "Vrrp:AdvertisementIntervalCentiseconds 4096")]
    [InlineData(nameof(VrrpOptions.GratuitousArpCount), -1, "Vrrp:GratuitousArpCount -1")]
    [InlineData(nameof(VrrpOptions.GratuitousArpCount), 101, "Vrrp:GratuitousArpCount 101")]
    [InlineData(nameof(VrrpOptions.GratuitousArpIntervalMilliseconds), 10001, "Vrrp:GratuitousArpIntervalMilliseconds 10001")]
    public void Validate_OutOfRange_NamesSettingAndValue(string property, int value, string expectedStart)
    {
        var options = Valid();
        typeof(VrrpOptions).GetProperty(property)!.SetValue(options, value);

        var error = Assert.Single(options.Validate());

        Assert.StartsWith(expectedStart, error, StringComparison.Ordinal);
        Assert.Contains("Set it", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Priority255_Allowed()
    {
        var options = Valid();
        options.Priority = 255;

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("an-interface-name-too-long")]
    [InlineData("eth 0")]
    [InlineData("a/b")]
    public void Validate_BadInterfaceName_Rejected(string name)
    {
        var options = Valid();
        options.Interface = name;

        var error = Assert.Single(options.Validate());

        Assert.Contains($"Vrrp:Interface '{name}'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("198.51.100.100", "prefix length is missing")]
    [InlineData("198.51.100.300/24", "not an IP address")]
    [InlineData("198.51.100.100/33", "from 0 to 32")]
    [InlineData("224.0.0.18/32", "not a unicast host address")]
    [InlineData("2001:db8::1/64", "is IPv6, but the first virtual address is IPv4")]
    [InlineData("ff02::12/128", "not a unicast host address")]
    public void Validate_BadVirtualAddress_ExplainsProblem(string address, string expected)
    {
        var options = Valid();
        options.VirtualAddresses = ["198.51.100.101/24", address];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith($"Vrrp:VirtualAddresses:1 '{address}'", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingInterface_ListsExistingOnes()
    {
        var options = Valid();
        options.Interface = "nosuch0";

        var error = Assert.Single(options.Validate(() => ["lo", "eth1", "eth0"]));

        Assert.Equal("Vrrp:Interface 'nosuch0' does not exist on this host. Set it to the interface that carries the VRRP adverts; the interfaces here are: eth0, eth1, lo.", error);
    }

    [Fact]
    public void Validate_MissingInterface_CheckedOnThisHost()
    {
        var options = Valid();
        options.Interface = "nosuch0";

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:Interface 'nosuch0' does not exist on this host.", error, StringComparison.Ordinal);
        Assert.Contains("lo", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InterfacesUnlisted_SkipsExistenceCheck()
    {
        var options = Valid();
        options.Interface = "nosuch0";

        Assert.Empty(options.Validate(() => null));
    }

    [Fact]
    public void Validate_DuplicateAddress_Rejected()
    {
        var options = Valid();
        options.VirtualAddresses = ["198.51.100.100/24", "198.51.100.100/32"];

        var error = Assert.Single(options.Validate());

        Assert.Contains("repeats an earlier entry", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TooManyAddresses_Rejected()
    {
        var options = Valid();
        options.VirtualAddresses = [.. Enumerable.Range(1, 256).Select(i => i <= 250 ? $"198.51.100.{i}/24" : $"203.0.113.{i - 250}/24")];

        var error = Assert.Single(options.Validate());

        Assert.Contains("has 256 entries", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAll()
    {
        var options = Valid();
        options.Priority = 0;
        options.AdvertisementIntervalCentiseconds = 0;
        options.VirtualAddresses = ["nonsense"];

        Assert.Equal(3, options.Validate().Count);
    }
}
