using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Tests.TestSupport;

/// <summary>
/// The fake platform, recorded logs and fake clock of one speaker test, with the steps that the speaker test
/// classes share.
/// </summary>
internal sealed class SpeakerTestBed
{
    /// <summary>Maximum wait for a step of the speaker's loops, which run on the thread pool.</summary>
    public static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private int _delivered;

    public FakePlatform Platform { get; } = new();

    public RecordingLoggerFactory Logs { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    /// <summary>Options for IPv4 virtual router 51 on veth-test with the virtual address 198.51.100.100/24.</summary>
    public static VrrpOptions Ipv4Options(int priority = 100) => new()
    {
        Interface = "veth-test",
        VirtualRouterId = 51,
        Priority = priority,
        VirtualAddresses = ["198.51.100.100/24"],
    };

    /// <summary>Creates a speaker on the fake platform, timed by <paramref name="time"/> or else by <see cref="Time"/>.</summary>
    public VrrpSpeaker CreateSpeaker(VrrpOptions options, TimeProvider? time = null) => new(options, Logs, time ?? Time, Platform);

    /// <summary>
    /// Starts a speaker and advances <see cref="Time"/> by 4 s, past the master-down interval of 3.61 s at priority
    /// 100 and a 1 s advert interval (RFC 9568 §6.1), so that it becomes master.
    /// </summary>
    public async Task<VrrpSpeaker> StartMasterAsync(VrrpOptions options)
    {
        var speaker = CreateSpeaker(options);
        await speaker.StartAsync(TestContext.Current.CancellationToken);
        Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(VrrpState.Master, speaker.State);
        return speaker;
    }

    /// <summary>Queues datagrams on the fake transport and waits until the speaker's receive loop has handled them.</summary>
    public async Task DeliverAsync(params byte[][] datagrams)
    {
        foreach (var datagram in datagrams)
        {
            Platform.Transport.Enqueue(datagram);
        }

        // The loop has handled every datagram once it calls ReceiveAsync for the next one.
        _delivered += datagrams.Length;
        await Platform.Transport.WaitForReceiveCallsAsync(_delivered + 1).WaitAsync(SignalTimeout, TestContext.Current.CancellationToken);
    }

    /// <summary>Reads a VRRPv3 message that the speaker sent for IPv4 virtual router 51 and asserts that it is valid.</summary>
    public static VrrpAdvertisement ReadSentIpv4Advert(byte[] message)
    {
        var ip = new ReceivedIpInfo(FakePlatform.PrimaryAddress, Datagrams.Group, 255, 112);
        var result = VrrpPacket.Read(message, ip, new VrrpReadContext(VrrpVersion.V3, 51, _ => false));
        Assert.Equal(VrrpReadOutcome.Accepted, result.Outcome);
        return result.Advertisement!;
    }
}
