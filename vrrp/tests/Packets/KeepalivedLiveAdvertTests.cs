using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tandem.Vrrp.Packets;

namespace Tandem.Vrrp.Tests.Packets;

/// <summary>
/// A capture of live keepalived adverts: three virtual routers (VRRPv2 with a password, VRRPv3 over IPv4, VRRPv3 over
/// IPv6) in a network namespace of the fixture's own, recorded by tcpdump on the far end of a veth pair. The namespace holds only a veth pair with 198.51.100.0/24, 2001:db8::/32 and
/// link-local addresses, has no route out, and is deleted at the end.
/// </summary>
public sealed class KeepalivedAdvertCapture : IAsyncLifetime
{
    public const byte Version2Vrid = 71;
    public const byte Version3Ipv4Vrid = 72;
    public const byte Version3Ipv6Vrid = 73;
    public const string Password = "tandem1";

    private const string Keepalived = "/usr/sbin/keepalived";
    private const string Tcpdump = "/usr/bin/tcpdump";

    /// <summary>Two adverts of each router. keepalived becomes master after Master_Down_Interval (3.4 s here), then sends one a second.</summary>
    private const int CapturedPackets = 6;

    private static readonly TimeSpan CaptureTimeout = TimeSpan.FromSeconds(20);

    private readonly string _namespace = $"tdm-ka-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
    private readonly string _directory = Directory.CreateTempSubdirectory("tdm-ka-").FullName;
    private bool _created;

    public string? SkipReason { get; private set; }

    /// <summary>The IP datagrams captured, without their Ethernet header, by the VRID in their VRRP message.</summary>
    public Dictionary<byte, List<byte[]>> DatagramsByVrid { get; } = [];

    public async ValueTask InitializeAsync()
    {
        string? missing = !OperatingSystem.IsLinux() || Environment.UserName != "root"
            ? "creating a network namespace needs root on Linux"
            : !File.Exists(Keepalived) ? $"{Keepalived} is missing; install it with: apt-get install keepalived"
            : !File.Exists(Tcpdump) ? $"{Tcpdump} is missing; install it with: apt-get install tcpdump"
            : null;
        if (missing is not null)
        {
            SkipReason = missing;
            return;
        }

        await RunAsync("ip", "netns", "add", _namespace);
        _created = true;
        try
        {
            await CaptureAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task CaptureAsync()
    {
        await RunAsync("ip", "-n", _namespace, "link", "add", "t0", "type", "veth", "peer", "name", "t1");
        await RunAsync("ip", "netns", "exec", _namespace, "sysctl", "-q", "-w", "net.ipv6.conf.t0.disable_ipv6=0", "net.ipv6.conf.t1.disable_ipv6=0");
        await RunAsync("ip", "-n", _namespace, "addr", "add", "198.51.100.11/24", "dev", "t0");
        await RunAsync("ip", "-n", _namespace, "link", "set", "t0", "up");
        await RunAsync("ip", "-n", _namespace, "link", "set", "t1", "up");

        // nodad: keepalived must send from this address at once, before duplicate address detection would end.
        await RunAsync("ip", "-n", _namespace, "-6", "addr", "add", "fe80::11/64", "dev", "t0", "nodad");

        string config = Path.Combine(_directory, "keepalived.conf");
        await File.WriteAllTextAsync(config, Config);
        string capture = Path.Combine(_directory, "adverts.pcap");

        using Process tcpdump = Start("ip", "netns", "exec", _namespace, Tcpdump, "-i", "t1", "-n", "-U", "-Z", "root",
            "-c", CapturedPackets.ToString(), "-w", capture, "ip proto 112 or ip6 proto 112");
        using Process keepalived = Start("ip", "netns", "exec", _namespace, Keepalived, "-n", "-l", "-P", "-f", config,
            "-p", Path.Combine(_directory, "keepalived.pid"), "-r", Path.Combine(_directory, "vrrp.pid"));
        try
        {
            using var timeout = new CancellationTokenSource(CaptureTimeout);
            await tcpdump.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"tcpdump captured fewer than {CapturedPackets} VRRP packets in {CaptureTimeout.TotalSeconds} s.");
        }
        finally
        {
            Stop(tcpdump);
            Stop(keepalived);
        }

        foreach (byte[] datagram in ReadEthernetPayloads(await File.ReadAllBytesAsync(capture)))
        {
            // The VRID is the second byte of the VRRP message, after an IPv4 header (IHL words) or the 40-byte IPv6 one.
            int headerLength = (datagram[0] >> 4) == 6 ? 40 : (datagram[0] & 0x0F) * 4;
            byte vrid = datagram[headerLength + 1];
            if (!DatagramsByVrid.TryGetValue(vrid, out List<byte[]>? list))
            {
                DatagramsByVrid[vrid] = list = [];
            }

            list.Add(datagram);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_created)
        {
            _created = false;
            await RunAsync("ip", "netns", "del", _namespace);
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static string Config => $$"""
        global_defs {
            router_id tandem-live-adverts
        }
        vrrp_instance V2 {
            state BACKUP
            interface t0
            version 2
            virtual_router_id {{Version2Vrid}}
            priority 150
            advert_int 1
            authentication {
                auth_type PASS
                auth_pass {{Password}}
            }
            virtual_ipaddress {
                198.51.100.171/24
            }
        }
        vrrp_instance V3 {
            state BACKUP
            interface t0
            version 3
            virtual_router_id {{Version3Ipv4Vrid}}
            priority 151
            advert_int 1
            virtual_ipaddress {
                198.51.100.172/24
                198.51.100.173/24
            }
        }
        vrrp_instance V6 {
            state BACKUP
            interface t0
            version 3
            virtual_router_id {{Version3Ipv6Vrid}}
            priority 152
            advert_int 1
            virtual_ipaddress {
                fe80::1:49/64
                2001:db8::173/64
            }
        }
        """;

    /// <summary>Reads a libpcap file of Ethernet frames (little-endian, microsecond stamps, as tcpdump writes here).</summary>
    private static IEnumerable<byte[]> ReadEthernetPayloads(byte[] file)
    {
        const int GlobalHeaderLength = 24;
        const int RecordHeaderLength = 16;
        const int EthernetHeaderLength = 14;
        if (file.Length < GlobalHeaderLength || BinaryPrimitives.ReadUInt32LittleEndian(file) != 0xA1B2C3D4
            || BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20)) != 1)
        {
            throw new InvalidDataException("The capture is not a little-endian libpcap file of Ethernet frames.");
        }

        for (int offset = GlobalHeaderLength; offset + RecordHeaderLength <= file.Length;)
        {
            int length = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8)));
            int frame = offset + RecordHeaderLength;
            yield return file.AsSpan(frame + EthernetHeaderLength, length - EthernetHeaderLength).ToArray();
            offset = frame + length;
        }
    }

    private static Process Start(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"Starting {file} failed.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Kills the process and its children (keepalived's VRRP child, the program that <c>ip netns exec</c> ran), which
    /// this fixture started and no one else.
    /// </summary>
    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit(10_000);
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        using Process process = Start(file, arguments);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}.");
        }
    }
}

/// <summary>Our decoder reads the adverts that keepalived 2.2.7 sent on a live link, for both versions and families.</summary>
public sealed class KeepalivedLiveAdvertTests(KeepalivedAdvertCapture capture) : IClassFixture<KeepalivedAdvertCapture>
{
    private static readonly Func<IPAddress, bool> NoLocalAddress = _ => false;

    [Fact]
    public void Read_Version2WithPassword_Accepted()
    {
        var context = new VrrpReadContext(VrrpVersion.V2, KeepalivedAdvertCapture.Version2Vrid, NoLocalAddress)
        {
            Authentication = VrrpAuthentication.FromPassword(KeepalivedAdvertCapture.Password),
        };

        VrrpAdvertisement advertisement = AssertAllAccepted(KeepalivedAdvertCapture.Version2Vrid, context);

        Assert.Equal(VrrpVersion.V2, advertisement.Version);
        Assert.Equal(150, advertisement.Priority);
        Assert.Equal(100, advertisement.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([IPAddress.Parse("198.51.100.171")], advertisement.Addresses);
    }

    [Fact]
    public void Read_Version2WrongPassword_Rejected()
    {
        var context = new VrrpReadContext(VrrpVersion.V2, KeepalivedAdvertCapture.Version2Vrid, NoLocalAddress)
        {
            Authentication = VrrpAuthentication.FromPassword("other"),
        };

        foreach (byte[] datagram in Datagrams(KeepalivedAdvertCapture.Version2Vrid))
        {
            VrrpReadResult result = VrrpPacket.ReadDatagram(datagram, context);

            Assert.Equal(VrrpReadOutcome.Rejected, result.Outcome);
            Assert.Equal(VrrpRejectReason.AuthenticationFailed, result.Reason);
        }
    }

    [Fact]
    public void Read_Version3Ipv4PseudoHeaderChecksum_Accepted()
    {
        var context = new VrrpReadContext(VrrpVersion.V3, KeepalivedAdvertCapture.Version3Ipv4Vrid, NoLocalAddress);

        VrrpAdvertisement advertisement = AssertAllAccepted(KeepalivedAdvertCapture.Version3Ipv4Vrid, context);

        Assert.Equal(VrrpVersion.V3, advertisement.Version);
        Assert.Equal(151, advertisement.Priority);
        Assert.Equal(100, advertisement.MaxAdvertisementIntervalCentiseconds);
        Assert.Equal([IPAddress.Parse("198.51.100.172"), IPAddress.Parse("198.51.100.173")], advertisement.Addresses);
    }

    [Fact]
    public void Read_Version3Ipv4MessageOnlyMode_BadChecksum()
    {
        var context = new VrrpReadContext(VrrpVersion.V3, KeepalivedAdvertCapture.Version3Ipv4Vrid, NoLocalAddress)
        {
            ChecksumMode = VrrpChecksumMode.MessageOnly,
        };

        foreach (byte[] datagram in Datagrams(KeepalivedAdvertCapture.Version3Ipv4Vrid))
        {
            Assert.Equal(VrrpRejectReason.BadChecksum, VrrpPacket.ReadDatagram(datagram, context).Reason);
        }
    }

    [Fact]
    public void Read_Version3Ipv6LinkLocalFirst_Accepted()
    {
        var context = new VrrpReadContext(VrrpVersion.V3, KeepalivedAdvertCapture.Version3Ipv6Vrid, NoLocalAddress)
        {
            AddressFamily = AddressFamily.InterNetworkV6,
        };

        VrrpAdvertisement advertisement = AssertAllAccepted(KeepalivedAdvertCapture.Version3Ipv6Vrid, context);

        Assert.Equal(152, advertisement.Priority);
        Assert.Equal([IPAddress.Parse("fe80::1:49"), IPAddress.Parse("2001:db8::173")], advertisement.Addresses);
    }

    [Fact]
    public void Read_Version3Ipv4FromOtherRouter_OtherVrid()
    {
        var context = new VrrpReadContext(VrrpVersion.V3, KeepalivedAdvertCapture.Version3Ipv4Vrid + 100, NoLocalAddress);

        foreach (byte[] datagram in Datagrams(KeepalivedAdvertCapture.Version3Ipv4Vrid))
        {
            Assert.Equal(VrrpReadOutcome.OtherVrid, VrrpPacket.ReadDatagram(datagram, context).Outcome);
        }
    }

    private VrrpAdvertisement AssertAllAccepted(byte vrid, VrrpReadContext context)
    {
        VrrpAdvertisement? last = null;
        foreach (byte[] datagram in Datagrams(vrid))
        {
            VrrpReadResult result = VrrpPacket.ReadDatagram(datagram, context);

            Assert.True(result.Outcome == VrrpReadOutcome.Accepted, $"{result.Outcome} {result.Reason}: {result.Detail}");
            last = result.Advertisement;
        }

        return last!;
    }

    private List<byte[]> Datagrams(byte vrid)
    {
        if (capture.SkipReason is { } reason)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail($"CI=true, so this test must run, but: {reason}");
            }

            Assert.Skip(reason);
        }

        Assert.True(capture.DatagramsByVrid.TryGetValue(vrid, out List<byte[]>? datagrams), $"keepalived sent no advert for VRID {vrid}.");
        return datagrams;
    }
}
