using System.Runtime.Versioning;
using Tandem.Vrrp.Tracking;

namespace Tandem.Vrrp.Tests.Tracking;

public sealed class TrackingOptionsTests
{
    private static VrrpOptions Valid() => new()
    {
        Interface = "eth0",
        VirtualRouterId = 51,
        VirtualAddresses = ["198.51.100.100/24"],
    };

    private static IReadOnlyList<string> Validate(VrrpOptions options) => options.Validate(() => null);

    [Fact]
    public void Defaults_AreValid()
    {
        var options = Valid();

        Assert.Empty(Validate(options));
        Assert.Equal(5, options.GratuitousArpMasterDelaySeconds);
        Assert.Equal(0, options.GratuitousArpRefreshSeconds);
        Assert.Equal(0, options.PreemptDelaySeconds);
        Assert.Equal(1000, options.TrackIntervalMilliseconds);
        Assert.Equal("", options.NotifyCommand);
    }

    [Theory]
    [InlineData("link:eth1")]
    [InlineData("file:/run/tandem/vrrp-down")]
    [InlineData("listener")]
    [InlineData("pool:web")]
    [InlineData("store")]
    public void Condition_KnownKindsAreValid(string condition)
    {
        var options = Valid();
        options.Track = [new VrrpTrackOptions { Condition = condition, Weight = 10 }];

        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("disk:/", "the kind is unknown")]
    [InlineData("link:", "link: needs a Linux interface name")]
    [InlineData("link:name-longer-than-15", "link: needs a Linux interface name")]
    [InlineData("file:relative/path", "file: needs an absolute path")]
    [InlineData("pool:", "pool: needs a proxy cluster id")]
    [InlineData("store:main", "store takes no argument")]
    public void Condition_InvalidIsRejected(string condition, string problem)
    {
        var options = Valid();
        options.Track = [new VrrpTrackOptions { Condition = condition, Weight = 10 }];

        var error = Assert.Single(Validate(options));
        Assert.StartsWith($"Vrrp:Track:0:Condition '{condition}' is invalid: {problem}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Condition_DuplicateIsRejected()
    {
        var options = Valid();
        options.Track = [new VrrpTrackOptions { Condition = "link:eth1", Weight = 10 }, new VrrpTrackOptions { Condition = "link:eth1", Weight = 20 }];

        var error = Assert.Single(Validate(options));
        Assert.Equal("Vrrp:Track:1:Condition 'link:eth1' repeats an earlier entry. Remove the duplicate.", error);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(254)]
    public void Weight_OutOfRangeIsRejected(int weight)
    {
        var options = Valid();
        options.Track = [new VrrpTrackOptions { Condition = "store", Weight = weight }];

        var error = Assert.Single(Validate(options));
        Assert.StartsWith($"Vrrp:Track:0:Weight {weight} is out of range.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Weight_OwnerNeedsZero()
    {
        var options = Valid();
        options.Priority = 255;
        options.Track = [new VrrpTrackOptions { Condition = "store", Weight = 10 }, new VrrpTrackOptions { Condition = "listener", Weight = 0 }];

        var error = Assert.Single(Validate(options));
        Assert.StartsWith("Vrrp:Track:0:Weight is 10, but Vrrp:Priority is 255", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Ranges_EveryErrorIsCollected()
    {
        var options = Valid();
        options.PreemptDelaySeconds = 1001;
        options.GratuitousArpMasterDelaySeconds = -1;
        options.GratuitousArpRefreshSeconds = 86_401;
        options.TrackIntervalMilliseconds = 99;
        options.NotifyTimeoutSeconds = 0;
        options.NotifyCommand = "notify.sh MASTER";

        var errors = Validate(options);

        Assert.Equal(6, errors.Count);
        Assert.Contains("Vrrp:PreemptDelaySeconds 1001 is out of range. Set it from 0 to 1000 seconds; 0 preempts at once.", errors);
        Assert.Contains("Vrrp:GratuitousArpMasterDelaySeconds -1 is out of range. Set it from 0 to 1000 seconds; 0 sends no second burst.", errors);
        Assert.Contains("Vrrp:GratuitousArpRefreshSeconds 86401 is out of range. Set it from 0 to 86400 seconds; 0 sends no periodic bursts.", errors);
        Assert.Contains("Vrrp:TrackIntervalMilliseconds 99 is out of range. Set it from 100 to 60000 milliseconds.", errors);
        Assert.Contains("Vrrp:NotifyTimeoutSeconds 0 is out of range. Set it from 1 to 3600 seconds.", errors);
        Assert.Contains(errors, e => e.StartsWith("Vrrp:NotifyCommand 'notify.sh MASTER' is not an absolute path.", StringComparison.Ordinal));
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void NotifyCommand_BrokenPathsAreRejected()
    {
        var directory = Directory.CreateTempSubdirectory("tandem-notify-check-");
        try
        {
            var script = Path.Combine(directory.FullName, "notify.sh");
            File.WriteAllText(script, "#!/bin/sh\nexit 0\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var missing = Path.Combine(directory.FullName, "absent.sh");

            Assert.StartsWith($"Vrrp:NotifyCommand '{missing}' is not found.", ValidateNotifyCommand(missing), StringComparison.Ordinal);
            Assert.StartsWith($"Vrrp:NotifyCommand '{directory.FullName}' is a directory.", ValidateNotifyCommand(directory.FullName), StringComparison.Ordinal);
            Assert.StartsWith($"Vrrp:NotifyCommand '{script}' is not executable by the user that runs the node (mode 600).", ValidateNotifyCommand(script), StringComparison.Ordinal);
            Assert.Contains("chmod +x", ValidateNotifyCommand(script), StringComparison.Ordinal);
            Assert.StartsWith("Vrrp:NotifyCommand '/bin/echo hello' contains arguments.", ValidateNotifyCommand("/bin/echo hello"), StringComparison.Ordinal);
            Assert.Contains("wrapper script", ValidateNotifyCommand("/bin/echo hello"), StringComparison.Ordinal);

            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var options = Valid();
            options.NotifyCommand = script;
            Assert.Empty(Validate(options));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string ValidateNotifyCommand(string command)
    {
        var options = Valid();
        options.NotifyCommand = command;
        return Assert.Single(Validate(options));
    }
}
