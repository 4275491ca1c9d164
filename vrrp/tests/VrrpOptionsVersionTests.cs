namespace Tandem.Vrrp.Tests;

/// <summary>Validation of the version, authentication, checksum mode and unicast settings.</summary>
public sealed class VrrpOptionsVersionTests
{
    private static VrrpOptions Valid(int version = 3) => new()
    {
        Interface = "lo",
        VirtualRouterId = 51,
        Priority = 150,
        Version = version,
        VirtualAddresses = ["198.51.100.100/24"],
    };

    [Fact]
    public void Defaults_Version3MulticastPseudoHeader()
    {
        var options = new VrrpOptions();

        Assert.Equal(3, options.Version);
        Assert.Equal("PseudoHeader", options.ChecksumMode);
        Assert.Empty(options.UnicastPeers);
        Assert.Equal("", options.AuthenticationPassword);
    }

    [Fact]
    public void Version2_ValidWithPasswordAndPeers()
    {
        var options = Valid(2);
        options.AdvertisementIntervalCentiseconds = 300;
        options.AuthenticationPassword = "8bytes!!";
        options.UnicastPeers = ["198.51.100.12", "198.51.100.13"];

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(0)]
    public void Version_Unsupported_NamesBothChoices(int version)
    {
        var error = Assert.Single(Valid(version).Validate());

        Assert.StartsWith($"Vrrp:Version {version} is not supported", error, StringComparison.Ordinal);
        Assert.Contains("3", error, StringComparison.Ordinal);
        Assert.Contains("2", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(150)]
    [InlineData(50)]
    [InlineData(25600)]
    public void Version2Interval_NotWholeSeconds_SaysMultipleOf100(int centiseconds)
    {
        var options = Valid(2);
        options.AdvertisementIntervalCentiseconds = centiseconds;

        var error = Assert.Single(options.Validate());

        Assert.StartsWith($"Vrrp:AdvertisementIntervalCentiseconds {centiseconds} is invalid with Vrrp:Version 2", error, StringComparison.Ordinal);
        Assert.Contains("multiple of 100", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Version2Interval_25500_Valid()
    {
        var options = Valid(2);
        options.AdvertisementIntervalCentiseconds = 25500;

        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Password_TooLong_ShowsLengthNotPassword()
    {
        var options = Valid(2);
        options.AuthenticationPassword = "ninechars";

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:AuthenticationPassword is 9 bytes long", error, StringComparison.Ordinal);
        Assert.DoesNotContain("ninechars", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_MultiByteCharacters_CountedInBytes()
    {
        var options = Valid(2);
        options.AuthenticationPassword = "ääääa";

        var error = Assert.Single(options.Validate());

        Assert.Contains("9 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_WithVersion3_Rejected()
    {
        var options = Valid(3);
        options.AuthenticationPassword = "secret";

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:AuthenticationPassword is set, but Vrrp:Version is 3", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MessageOnly")]
    [InlineData("messageonly")]
    [InlineData("PseudoHeader")]
    public void ChecksumMode_KnownNames_Valid(string mode)
    {
        var options = Valid();
        options.ChecksumMode = mode;

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("Pseudo")]
    [InlineData("1")]
    [InlineData("")]
    public void ChecksumMode_Unknown_NamesChoices(string mode)
    {
        var options = Valid();
        options.ChecksumMode = mode;

        var error = Assert.Single(options.Validate());

        Assert.StartsWith($"Vrrp:ChecksumMode '{mode}' is not a checksum mode", error, StringComparison.Ordinal);
        Assert.Contains("PseudoHeader", error, StringComparison.Ordinal);
        Assert.Contains("MessageOnly", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("peer-b", "is not an IP address")]
    [InlineData("198.51.100.12/24", "is not an IP address")]
    [InlineData("2001:db8::2", "is an IPv6 address, but the virtual addresses are IPv4")]
    [InlineData("224.0.0.18", "is not a unicast address")]
    [InlineData("255.255.255.255", "is not a unicast address")]
    [InlineData("0.0.0.0", "is not a unicast address")]
    [InlineData("127.0.0.1", "is not a unicast address")]
    public void UnicastPeer_Invalid_NamesIndexAndValue(string peer, string expected)
    {
        var options = Valid();
        options.UnicastPeers = ["198.51.100.12", peer];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith($"Vrrp:UnicastPeers:1 '{peer}' {expected}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnicastPeer_Duplicate_Rejected()
    {
        var options = Valid();
        options.UnicastPeers = ["198.51.100.12", "198.51.100.12"];

        var error = Assert.Single(options.Validate());

        Assert.StartsWith("Vrrp:UnicastPeers:1 '198.51.100.12' repeats an earlier entry", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralProblems_AllReported()
    {
        var options = Valid(2);
        options.AdvertisementIntervalCentiseconds = 150;
        options.AuthenticationPassword = "far too long";
        options.ChecksumMode = "bogus";
        options.UnicastPeers = ["nope"];

        Assert.Equal(4, options.Validate().Count);
    }
}
