using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Tandem.Vrrp.Addresses;

namespace Tandem.Vrrp.Tests.Addresses;

/// <summary>
/// A network namespace of its own with a veth pair, created once for <see cref="NetlinkAddressConfiguratorTests"/> and
/// deleted after the last test. The host's own namespace and interfaces are never changed.
/// </summary>
public sealed class NetlinkNamespaceFixture : IDisposable
{
    private const int CloneNewNetwork = 0x40000000;

    public NetlinkNamespaceFixture()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            SkipReason = "needs root on Linux to create a network namespace";
            return;
        }

        Name = $"tdm-nl-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
        try
        {
            Run("ip", "netns", "add", Name);
            Created = true;
            Run("ip", "-n", Name, "link", "add", "t0", "type", "veth", "peer", "name", "t1");
            Run("ip", "netns", "exec", Name, "sysctl", "-q", "-w", "net.ipv6.conf.t0.disable_ipv6=0");
            Run("ip", "-n", Name, "link", "set", "t0", "up");
            Run("ip", "-n", Name, "link", "set", "t1", "up");
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            SkipReason = $"the test namespace could not be set up: {ex.Message}";
        }
    }

    public string Name { get; } = "";

    public bool Created { get; }

    public string? SkipReason { get; }

    /// <summary>Opens a NETLINK_ROUTE socket inside the namespace on a thread of its own, which then returns to its namespace and ends.</summary>
    public SafeSocketHandle OpenSocket()
    {
        SafeSocketHandle? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var home = File.OpenHandle("/proc/thread-self/ns/net", FileMode.Open, FileAccess.Read);
                using var target = File.OpenHandle(Path.Combine("/var/run/netns", Name), FileMode.Open, FileAccess.Read);
                Enter(target);
                try
                {
                    socket = NetlinkAddressConfigurator.OpenRouteSocket();
                }
                finally
                {
                    Enter(home);
                }
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException("Opening the netlink socket in the test namespace failed.", error);
    }

    /// <summary>Returns the <c>ip -o addr</c> lines of t0.</summary>
    public string ListAddresses() => Run("ip", "-n", Name, "-o", "addr", "show", "dev", "t0");

    public void Dispose()
    {
        if (Created)
        {
            Run("ip", "netns", "del", Name);
        }
    }

    private static void Enter(SafeFileHandle namespaceHandle)
    {
        if (SetNamespace(namespaceHandle, CloneNewNetwork) != 0)
        {
            throw new InvalidOperationException($"setns failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static string Run(string fileName, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' timed out.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' failed: {error.Trim()}");
        }

        return output;
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNamespace(SafeFileHandle handle, int namespaceType);
}

public sealed class NetlinkAddressConfiguratorTests(NetlinkNamespaceFixture fixture) : IClassFixture<NetlinkNamespaceFixture>
{
    private NetlinkAddressConfigurator Create()
    {
        if (fixture.SkipReason is { } reason)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"CI=true, so this test must run, but: {reason}");
            Assert.Skip($"This test cannot run: {reason}");
        }

        return new NetlinkAddressConfigurator(NullLogger.Instance, fixture.OpenSocket);
    }

    [Fact]
    public async Task Ipv4_AddThenRemove()
    {
        var configurator = Create();
        var address = new VirtualAddress(IPAddress.Parse("198.51.100.100"), 24);
        var cancellationToken = TestContext.Current.CancellationToken;

        var added = await configurator.AddAsync("t0", address, cancellationToken);
        var listedAfterAdd = fixture.ListAddresses();
        var addedAgain = await configurator.AddAsync("t0", address, cancellationToken);
        var removed = await configurator.RemoveAsync("t0", address, cancellationToken);
        var listedAfterRemove = fixture.ListAddresses();
        var removedAgain = await configurator.RemoveAsync("t0", address, cancellationToken);

        Assert.True(added);
        Assert.Contains("inet 198.51.100.100/24", listedAfterAdd, StringComparison.Ordinal);
        Assert.True(addedAgain);
        Assert.True(removed);
        Assert.DoesNotContain("198.51.100.100", listedAfterRemove, StringComparison.Ordinal);
        Assert.True(removedAgain);
    }

    [Fact]
    public async Task Ipv6_AddedWithNodad()
    {
        var configurator = Create();
        var global = new VirtualAddress(IPAddress.Parse("2001:db8::100"), 64);
        var linkLocal = new VirtualAddress(IPAddress.Parse("fe80::1:33"), 64);
        var cancellationToken = TestContext.Current.CancellationToken;

        Assert.True(await configurator.AddAsync("t0", linkLocal, cancellationToken));
        Assert.True(await configurator.AddAsync("t0", global, cancellationToken));
        var lines = fixture.ListAddresses().Split('\n');
        var globalLine = Assert.Single(lines, line => line.Contains("inet6 2001:db8::100/64", StringComparison.Ordinal));
        var linkLocalLine = Assert.Single(lines, line => line.Contains("inet6 fe80::1:33/64", StringComparison.Ordinal));
        Assert.True(await configurator.RemoveAsync("t0", global, cancellationToken));
        Assert.True(await configurator.RemoveAsync("t0", linkLocal, cancellationToken));

        Assert.Contains("nodad", globalLine, StringComparison.Ordinal);
        Assert.DoesNotContain("tentative", globalLine, StringComparison.Ordinal);
        Assert.Contains("scope link", linkLocalLine, StringComparison.Ordinal);
        Assert.DoesNotContain("2001:db8::100", fixture.ListAddresses(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingInterface_Fails()
    {
        var configurator = Create();
        var address = new VirtualAddress(IPAddress.Parse("198.51.100.101"), 24);

        Assert.False(await configurator.AddAsync("tdm-missing0", address, TestContext.Current.CancellationToken));
        Assert.False(await configurator.RemoveAsync("tdm-missing0", address, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void BuildMessage_Ipv6Layout()
    {
        var message = NetlinkAddressConfigurator.BuildMessage(20, 0x605, 7, 3, new VirtualAddress(IPAddress.Parse("2001:db8::100"), 64));

        // nlmsghdr 16 + ifaddrmsg 8 + two attributes of 4 + 16 bytes.
        Assert.Equal(64, message.Length);
        Assert.Equal(64u, BitConverter.ToUInt32(message, 0));
        Assert.Equal(20, BitConverter.ToUInt16(message, 4));
        Assert.Equal(0x605, BitConverter.ToUInt16(message, 6));
        Assert.Equal(7, BitConverter.ToInt32(message, 8));
        Assert.Equal(10, message[16]);
        Assert.Equal(64, message[17]);
        Assert.Equal(0x02, message[18]);
        Assert.Equal(3, BitConverter.ToInt32(message, 20));
        Assert.Equal(20, BitConverter.ToUInt16(message, 24));
        Assert.Equal(2, BitConverter.ToUInt16(message, 26));
        Assert.Equal(IPAddress.Parse("2001:db8::100"), new IPAddress(message.AsSpan(28, 16)));
        Assert.Equal(1, BitConverter.ToUInt16(message, 46));
    }

    [Fact]
    public void ReadAcknowledgement_OtherSequenceIgnored()
    {
        var reply = new byte[36];
        BitConverter.TryWriteBytes(reply.AsSpan(0), 36u);
        BitConverter.TryWriteBytes(reply.AsSpan(4), (ushort)2);
        BitConverter.TryWriteBytes(reply.AsSpan(8), 5);
        BitConverter.TryWriteBytes(reply.AsSpan(16), -17);

        Assert.Equal(17, NetlinkAddressConfigurator.ReadAcknowledgement(reply, 5));
        Assert.Null(NetlinkAddressConfigurator.ReadAcknowledgement(reply, 6));
    }
}
