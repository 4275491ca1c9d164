using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

public sealed class VrrpSpeakerTests
{
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.11");

    private readonly SpeakerTestBed _bed = new();

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsWithEveryError()
    {
        await using var speaker = _bed.CreateSpeaker(new VrrpOptions(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(3, exception.Failures.Count());
        Assert.Empty(_bed.Platform.Events);
    }

    [Fact]
    public async Task StartAsync_MissingInterface_ThrowsBeforeAnyAction()
    {
        _bed.Platform.InterfaceNames = ["lo", "eth0"];
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        var failure = Assert.Single(exception.Failures);
        Assert.StartsWith("Vrrp:Interface 'veth-test' does not exist on this host.", failure, StringComparison.Ordinal);
        Assert.Empty(_bed.Platform.Events);
    }

    [Fact]
    public async Task StartAsync_RemovesStaleAddressesFirst()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());

        await speaker.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["remove 198.51.100.100/24", "resolve", "open"], _bed.Platform.Events);
        Assert.Equal(VrrpState.Backup, speaker.State);
    }

    [Fact]
    public async Task StartAsync_StaleRemovalFails_Throws()
    {
        _bed.Platform.RemoveSucceeds = false;
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("198.51.100.100/24", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("open", _bed.Platform.Events);
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InvalidOperationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Backup_MasterDown_AdvertisesClaimsAndAnnounces()
    {
        var time = new FakeTimeProvider();
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), time);
        var changes = new List<VrrpStateChange>();
        speaker.StateChanged += changes.Add;
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        time.Advance(TimeSpan.FromMilliseconds(3600));

        Assert.Equal(VrrpState.Master, speaker.State);
        var advert = SpeakerTestBed.ReadSentIpv4Advert(Assert.Single(_bed.Platform.Transport.Sent));
        Assert.Equal(100, advert.Priority);
        Assert.Equal(100, advert.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([IPAddress.Parse("198.51.100.100")], advert.Addresses);
        Assert.Equal([IPAddress.Parse("198.51.100.100")], await _bed.Platform.ArpSender.FirstAnnouncement.WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken));
        Assert.Contains("add 198.51.100.100/24", _bed.Platform.Events);
        Assert.Equal(1, speaker.Counters.BecameMaster);
        Assert.Equal(1, speaker.Counters.AdvertisementsSent);
        Assert.Equal([VrrpState.Backup, VrrpState.Master], changes.Select(c => c.To));
    }

    [Fact]
    public async Task StopAsync_AsMaster_SendsPriorityZero()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(priority: 255), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        Assert.Equal(VrrpState.Master, speaker.State);

        await speaker.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(VrrpState.Initialize, speaker.State);
        var sent = _bed.Platform.Transport.Sent;
        Assert.Equal(255, SpeakerTestBed.ReadSentIpv4Advert(sent[0]).Priority);
        Assert.Equal(0, SpeakerTestBed.ReadSentIpv4Advert(sent[^1]).Priority);
        Assert.Equal(1, speaker.Counters.PriorityZeroSent);
        Assert.Equal("remove 198.51.100.100/24", _bed.Platform.Events[^1]);
        Assert.True(_bed.Platform.Transport.IsDisposed);
    }

    [Fact]
    public async Task StopAsync_AsBackup_SendsNothing()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken);
        await speaker.StopAsync(TestContext.Current.CancellationToken);

        Assert.Empty(_bed.Platform.Transport.Sent);
        Assert.True(_bed.Platform.Transport.IsDisposed);
    }

    [Fact]
    public async Task ReceiveLoop_SurvivesGarbageAndErrors()
    {
        // The loop waits 100 ms after a socket error; real time keeps that short wait from needing a clock driver.
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), TimeProvider.System);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _bed.Platform.Transport;

        transport.Enqueue(new byte[] { 0x45 });
        transport.Enqueue(new SocketException((int)SocketError.NetworkDown));
        transport.Enqueue(new byte[3000].AsSpan(0, 40).ToArray());
        transport.Enqueue(new InvalidOperationException("unexpected"));
        transport.Enqueue(Datagrams.Advert(Peer, 51, 150));
        await transport.WaitForReceiveCallsAsync(6).WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(2, speaker.Counters.ReceiveErrors);
        Assert.Equal(2, speaker.Counters.GetRejected(VrrpRejectReason.MalformedIpHeader));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
        Assert.Equal(VrrpState.Backup, speaker.State);
    }

    [Fact]
    public async Task LogFlushTimer_ReportsSuppressedRejects()
    {
        var time = new FakeTimeProvider();
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), time);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _bed.Platform.Transport;
        for (var i = 0; i < 3; i++)
        {
            transport.Enqueue(new byte[] { 0x45 });
        }

        await transport.WaitForReceiveCallsAsync(4).WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(_bed.Logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");

        time.Advance(TimeSpan.FromMinutes(1));

        var repeated = Assert.Single(_bed.Logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Contains("2 more invalid VRRP packets for MalformedIpHeader", repeated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_ReportsSuppressedRejects()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _bed.Platform.Transport;
        transport.Enqueue(new byte[] { 0x45 });
        transport.Enqueue(new byte[] { 0x45 });
        await transport.WaitForReceiveCallsAsync(3).WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken);

        var repeated = Assert.Single(_bed.Logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Contains("1 more invalid VRRP packets for MalformedIpHeader", repeated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_EndsReceiveLoopPromptly()
    {
        await using var speaker = _bed.CreateSpeaker(SpeakerTestBed.Ipv4Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        await _bed.Platform.Transport.WaitForReceiveCallsAsync(1).WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken).WaitAsync(SpeakerTestBed.SignalTimeout, TestContext.Current.CancellationToken);

        Assert.True(_bed.Platform.Transport.IsDisposed);
    }
}
