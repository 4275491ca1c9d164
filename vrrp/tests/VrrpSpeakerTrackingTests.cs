using System.Net;
using System.Runtime.Versioning;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Tests.TestSupport;
using Tandem.Vrrp.Tracking;

namespace Tandem.Vrrp.Tests;

/// <summary>Tracking, notify and the later gratuitous ARP settings as the speaker applies them.</summary>
[SupportedOSPlatform("linux")]
public sealed class VrrpSpeakerTrackingTests : IDisposable
{
    private static readonly TimeSpan ProcessWait = TimeSpan.FromSeconds(20);

    private readonly SpeakerTestBed _bed = new();
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("tandem-speaker-track-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    [Fact]
    public async Task TrackedFile_LowersAdvertisedPriority()
    {
        var trackFile = PathOf("vrrp-down");
        File.WriteAllText(trackFile, "");
        var options = SpeakerTestBed.Ipv4Options();
        options.Track = [new VrrpTrackOptions { Condition = $"file:{trackFile}", Weight = 30 }];
        var time = new FakeTimeProvider();
        await using var speaker = _bed.CreateSpeaker(options, time);

        await speaker.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(70, speaker.EffectivePriority);
        var condition = Assert.Single(speaker.TrackedConditions);
        Assert.Equal($"file:{trackFile}", condition.Name);
        Assert.True(condition.IsFailed);

        // Master_Down_Interval at priority 70: 300 + (256 - 70) * 100 / 256 = 372 cs.
        time.Advance(TimeSpan.FromMilliseconds(3720));
        Assert.Equal(VrrpState.Master, speaker.State);
        Assert.Equal(70, SpeakerTestBed.ReadSentIpv4Advert(Assert.Single(_bed.Platform.Transport.Sent)).Priority);

        File.Delete(trackFile);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(100, speaker.EffectivePriority);
        Assert.Equal(100, SpeakerTestBed.ReadSentIpv4Advert(_bed.Platform.Transport.Sent[^1]).Priority);
    }

    [Fact]
    public async Task TrackedFault_OwnerStaysBackup()
    {
        var options = SpeakerTestBed.Ipv4Options(priority: 255);
        options.Track = [new VrrpTrackOptions { Condition = "listener", Weight = 0 }];
        var time = new FakeTimeProvider();
        await using var speaker = _bed.CreateSpeaker(options, time);
        speaker.TrackedConditions[0].SetFailed(true, "not listening");

        await speaker.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(VrrpState.Backup, speaker.State);
        Assert.True(speaker.InFault);
        Assert.Empty(_bed.Platform.Transport.Sent);

        speaker.TrackedConditions[0].SetFailed(false, "listening");
        time.Advance(TimeSpan.FromMilliseconds(3000));
        Assert.Equal(VrrpState.Master, speaker.State);
    }

    [Fact]
    public async Task NotifyCommand_RunsOnEveryStateChange()
    {
        var output = PathOf("calls.txt");
        var script = PathOf("notify.sh");
        File.WriteAllText(script, $"#!/bin/sh\necho \"$*\" >> '{output}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = SpeakerTestBed.Ipv4Options(priority: 255);
        options.NotifyCommand = script;
        var speaker = _bed.CreateSpeaker(options, new FakeTimeProvider());
        speaker.InstanceName = "web";

        await speaker.StartAsync(TestContext.Current.CancellationToken);
        await speaker.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);

        Assert.Equal(["INSTANCE web MASTER 255", "INSTANCE web STOP 255"], File.ReadAllLines(output));
        Assert.Equal(2, speaker.Counters.NotifyStarted);
        Assert.Equal(0, speaker.Counters.NotifyFailed);
    }

    [Fact]
    public async Task GratuitousArp_SecondBurstByDefault()
    {
        var time = new FakeTimeProvider();
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(priority: 255), time);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        await _bed.Platform.ArpSender.FirstAnnouncement.WaitAsync(ProcessWait, TestContext.Current.CancellationToken);

        for (var second = 0; second < 5; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var deadline = DateTime.UtcNow + ProcessWait;
        while (_bed.Platform.ArpSender.Announcements < 2)
        {
            // The address worker sends on its own loop, so wait for it on the real clock, bounded.
            Assert.True(DateTime.UtcNow < deadline, "The second gratuitous ARP burst was not sent.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Equal(2, _bed.Platform.ArpSender.Announcements);
    }
}
