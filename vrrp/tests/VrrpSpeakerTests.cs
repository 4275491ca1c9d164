using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests;

public sealed class VrrpSpeakerTests
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);
    private static readonly IPAddress Peer = IPAddress.Parse("198.51.100.11");

    private readonly FakePlatform _platform = new();
    private readonly RecordingLoggerFactory _logs = new();

    private static VrrpOptions Options(int priority = 100) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = priority,
        VirtualAddresses = ["198.51.100.100/24"],
    };

    private VrrpSpeaker CreateSpeaker(VrrpOptions options, TimeProvider time) => new(options, _logs, time, _platform);

    private static VrrpAdvertisement Decode(byte[] message)
    {
        var ip = new ReceivedIpInfo(FakePlatform.PrimaryAddress, Datagrams.Group, 255, 112);
        var result = VrrpPacket.Read(message, ip, new VrrpReadContext(VrrpVersion.V3, 51, _ => false));
        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        return result.Advertisement!;
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsWithEveryError()
    {
        await using var speaker = CreateSpeaker(new VrrpOptions(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(3, exception.Failures.Count());
        Assert.Empty(_platform.Events);
    }

    [Fact]
    public async Task StartAsync_MissingInterface_ThrowsBeforeAnyAction()
    {
        _platform.InterfaceNames = ["lo", "eth0"];
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        var failure = Assert.Single(exception.Failures);
        Assert.StartsWith("Vrrp:Interface 'veth-test' does not exist on this host.", failure, StringComparison.Ordinal);
        Assert.Empty(_platform.Events);
    }

    [Fact]
    public async Task StartAsync_RemovesStaleAddressesFirst()
    {
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());

        await speaker.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["remove 198.51.100.100/24", "resolve", "open"], _platform.Events);
        Assert.Equal(VrrpState.Backup, speaker.State);
    }

    [Fact]
    public async Task StartAsync_StaleRemovalFails_Throws()
    {
        _platform.RemoveSucceeds = false;
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("198.51.100.100/24", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("open", _platform.Events);
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InvalidOperationException>(() => speaker.StartAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Backup_MasterDown_AdvertisesClaimsAndAnnounces()
    {
        var time = new FakeTimeProvider();
        await using var speaker = CreateSpeaker(Options(), time);
        var changes = new List<VrrpStateChange>();
        speaker.StateChanged += changes.Add;
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        time.Advance(TimeSpan.FromMilliseconds(3600));

        Assert.Equal(VrrpState.Master, speaker.State);
        var advert = Decode(Assert.Single(_platform.Transport.Sent));
        Assert.Equal(100, advert.Priority);
        Assert.Equal(100, advert.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([IPAddress.Parse("198.51.100.100")], advert.Addresses);
        Assert.Equal([IPAddress.Parse("198.51.100.100")], await _platform.ArpSender.FirstAnnouncement.WaitAsync(SignalTimeout, TestContext.Current.CancellationToken));
        Assert.Contains("add 198.51.100.100/24", _platform.Events);
        Assert.Equal(1, speaker.Counters.BecameMaster);
        Assert.Equal(1, speaker.Counters.AdvertisementsSent);
        Assert.Equal([VrrpState.Backup, VrrpState.Master], changes.Select(c => c.To));
    }

    [Fact]
    public async Task StopAsync_AsMaster_SendsPriorityZero()
    {
        await using var speaker = CreateSpeaker(Options(priority: 255), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        Assert.Equal(VrrpState.Master, speaker.State);

        await speaker.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(VrrpState.Initialize, speaker.State);
        var sent = _platform.Transport.Sent;
        Assert.Equal(255, Decode(sent[0]).Priority);
        Assert.Equal(0, Decode(sent[^1]).Priority);
        Assert.Equal(1, speaker.Counters.PriorityZeroSent);
        Assert.Equal("remove 198.51.100.100/24", _platform.Events[^1]);
        Assert.True(_platform.Transport.IsDisposed);
    }

    [Fact]
    public async Task StopAsync_AsBackup_SendsNothing()
    {
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken);
        await speaker.StopAsync(TestContext.Current.CancellationToken);

        Assert.Empty(_platform.Transport.Sent);
        Assert.True(_platform.Transport.IsDisposed);
    }

    [Fact]
    public async Task ReceiveLoop_SurvivesGarbageAndErrors()
    {
        // The loop waits 100 ms after a socket error; real time keeps that short wait from needing a clock driver.
        await using var speaker = CreateSpeaker(Options(), TimeProvider.System);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _platform.Transport;

        transport.Enqueue(new byte[] { 0x45 });
        transport.Enqueue(new SocketException((int)SocketError.NetworkDown));
        transport.Enqueue(new byte[3000].AsSpan(0, 40).ToArray());
        transport.Enqueue(new InvalidOperationException("unexpected"));
        transport.Enqueue(Datagrams.Advert(Peer, 51, 150));
        await transport.WaitForReceiveCallsAsync(6).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(2, speaker.Counters.ReceiveErrors);
        Assert.Equal(2, speaker.Counters.GetRejected(VrrpRejectReason.MalformedIpHeader));
        Assert.Equal(1, speaker.Counters.AdvertisementsReceived);
        Assert.Equal(VrrpState.Backup, speaker.State);
    }

    [Fact]
    public async Task LogFlushTimer_ReportsSuppressedRejects()
    {
        var time = new FakeTimeProvider();
        await using var speaker = CreateSpeaker(Options(), time);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _platform.Transport;
        for (var i = 0; i < 3; i++)
        {
            transport.Enqueue(new byte[] { 0x45 });
        }

        await transport.WaitForReceiveCallsAsync(4).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");

        time.Advance(TimeSpan.FromMinutes(1));

        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Contains("2 more invalid VRRP packets for MalformedIpHeader", repeated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_ReportsSuppressedRejects()
    {
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        var transport = _platform.Transport;
        transport.Enqueue(new byte[] { 0x45 });
        transport.Enqueue(new byte[] { 0x45 });
        await transport.WaitForReceiveCallsAsync(3).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken);

        var repeated = Assert.Single(_logs.Entries, e => e.EventId.Name == "PacketRejectsRepeated");
        Assert.Contains("1 more invalid VRRP packets for MalformedIpHeader", repeated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_EndsReceiveLoopPromptly()
    {
        await using var speaker = CreateSpeaker(Options(), new FakeTimeProvider());
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        await _platform.Transport.WaitForReceiveCallsAsync(1).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        await speaker.StopAsync(TestContext.Current.CancellationToken).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);

        Assert.True(_platform.Transport.IsDisposed);
    }
}
