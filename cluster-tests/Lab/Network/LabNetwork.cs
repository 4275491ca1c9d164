using System.Net;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Network;

/// <summary>
/// The namespaces, bridge and veth pairs of one lab run. Nothing is created in, or changed
/// about, the namespace this process runs in: each veth pair is created inside a lab namespace
/// with its peer placed straight into the bridge namespace.
/// </summary>
public sealed class LabNetwork
{
    private readonly ILogger _logger;

    private LabNetwork(LabTopology topology, ILogger logger)
    {
        Topology = topology;
        _logger = logger;
    }

    public LabTopology Topology { get; }

    /// <summary>Returns a handle on the network of an earlier run, for <see cref="DeleteAsync"/> only.</summary>
    internal static LabNetwork ForCleanup(LabTopology topology, ILogger logger) => new(topology, logger);

    /// <summary>Creates the bridge namespace and every host namespace of <paramref name="topology"/>.</summary>
    /// <remarks>On failure the namespaces created so far are deleted before the exception propagates.</remarks>
    public static async Task<LabNetwork> CreateAsync(LabTopology topology, ILogger logger, CancellationToken cancellationToken)
    {
        var network = new LabNetwork(topology, logger);
        try
        {
            await network.CreateBridgeAsync(cancellationToken);
            foreach (LabHost host in topology.Hosts)
            {
                await network.CreateHostAsync(host, cancellationToken);
            }
        }
        catch
        {
            await network.DeleteAsync();
            throw;
        }

        LabLog.NetworkCreated(logger, topology.RunId, topology.BridgeNamespace, topology.Hosts.Count);
        return network;
    }

    /// <summary>Returns whether <paramref name="host"/> has <paramref name="address"/> on <c>eth0</c>.</summary>
    public async Task<bool> HasAddressAsync(LabHost host, IPAddress address, CancellationToken cancellationToken)
    {
        CommandResult result = await CommandRunner.RunCheckedAsync(
            "ip", ["-n", host.Namespace, "-4", "-o", "addr", "show", "dev", "eth0"], cancellationToken: cancellationToken);
        return ParseAddresses(result.StandardOutput).Contains(address);
    }

    /// <summary>Takes <c>eth0</c> of <paramref name="host"/> down, so the bridge stops delivering to it.</summary>
    public Task SetLinkDownAsync(LabHost host, CancellationToken cancellationToken) =>
        CommandRunner.RunCheckedAsync("ip", ["-n", host.Namespace, "link", "set", "eth0", "down"], cancellationToken: cancellationToken);

    /// <summary>
    /// Kills every process still inside a namespace of this run, by PID, then deletes the
    /// namespaces; deleting a host namespace also deletes its veth pair. Safe to call more than
    /// once and after a partial <see cref="CreateAsync"/>.
    /// </summary>
    /// <returns>Problems met on the way; the deletion goes on past each of them.</returns>
    public async Task<IReadOnlyList<string>> DeleteAsync()
    {
        var problems = new List<string>();
        IReadOnlyList<string> existing = await ListNamespacesAsync(Topology.NamespacePrefix);

        // Host namespaces go first so that no veth end is left waiting on a deleted bridge.
        var ordered = existing.OrderBy(name => name == Topology.BridgeNamespace ? 1 : 0).ToList();
        foreach (string name in ordered)
        {
            try
            {
                await KillNamespaceProcessesAsync(name);
                CommandResult result = await CommandRunner.RunAsync("ip", ["netns", "del", name]);
                if (!result.Succeeded)
                {
                    problems.Add($"'{result.CommandLine}' failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
                }
            }
            catch (LabCommandException exception)
            {
                problems.Add(exception.Message);
            }
        }

        LabLog.NetworkDeleted(_logger, Topology.RunId, ordered.Count, problems.Count);
        return problems;
    }

    /// <summary>Lists the named network namespaces whose names start with <paramref name="prefix"/>.</summary>
    public static async Task<IReadOnlyList<string>> ListNamespacesAsync(string prefix)
    {
        CommandResult result = await CommandRunner.RunCheckedAsync("ip", ["netns", "list"]);

        // Each line is "NAME" or "NAME (id: N)".
        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2)[0])
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>Lists the PIDs of the processes inside a named network namespace.</summary>
    public static async Task<IReadOnlyList<int>> ListNamespacePidsAsync(string namespaceName)
    {
        CommandResult result = await CommandRunner.RunCheckedAsync("ip", ["netns", "pids", namespaceName]);
        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse)
            .ToList();
    }

    internal static IReadOnlySet<IPAddress> ParseAddresses(string ipAddrOutput)
    {
        // One line per address: "2: eth0    inet 198.51.100.11/24 brd ... scope global eth0 ...".
        var addresses = new HashSet<IPAddress>();
        foreach (string line in ipAddrOutput.Split('\n'))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int inet = Array.IndexOf(fields, "inet");
            if (inet >= 0 && inet + 1 < fields.Length && IPNetwork.TryParse(fields[inet + 1], out _))
            {
                addresses.Add(IPAddress.Parse(fields[inet + 1].Split('/')[0]));
            }
        }

        return addresses;
    }

    private async Task CreateBridgeAsync(CancellationToken cancellationToken)
    {
        string ns = Topology.BridgeNamespace;
        await IpAsync(cancellationToken, "netns", "add", ns);
        await DisableIPv6Async(ns, cancellationToken);
        await IpAsync(cancellationToken, "-n", ns, "link", "set", "lo", "up");

        // Multicast snooping off: VRRP adverts to 224.0.0.18 must reach every port, and the
        // nodes send no IGMP joins that snooping could learn from in time.
        await IpAsync(cancellationToken, "-n", ns, "link", "add", "name", Topology.BridgeName, "type", "bridge", "mcast_snooping", "0");
        await IpAsync(cancellationToken, "-n", ns, "link", "set", Topology.BridgeName, "up");
    }

    private async Task CreateHostAsync(LabHost host, CancellationToken cancellationToken)
    {
        string ns = host.Namespace;
        await IpAsync(cancellationToken, "netns", "add", ns);

        // Before eth0 exists, so it inherits the default and never sends IPv6 traffic.
        await DisableIPv6Async(ns, cancellationToken);
        await IpAsync(cancellationToken, "-n", ns, "link", "set", "lo", "up");
        await IpAsync(cancellationToken, "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", host.BridgePort, "netns", Topology.BridgeNamespace);
        await IpAsync(cancellationToken, "-n", Topology.BridgeNamespace, "link", "set", host.BridgePort, "master", Topology.BridgeName);
        await IpAsync(cancellationToken, "-n", Topology.BridgeNamespace, "link", "set", host.BridgePort, "up");
        await IpAsync(cancellationToken, "-n", ns, "addr", "add", $"{host.Address}/{LabTopology.PrefixLength}", "dev", "eth0");
        await IpAsync(cancellationToken, "-n", ns, "link", "set", "eth0", "up");
    }

    private static Task DisableIPv6Async(string ns, CancellationToken cancellationToken) =>
        CommandRunner.RunCheckedAsync(
            "ip",
            ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
            cancellationToken: cancellationToken);

    private static Task IpAsync(CancellationToken cancellationToken, params string[] arguments) =>
        CommandRunner.RunCheckedAsync("ip", arguments, cancellationToken: cancellationToken);

    private async Task KillNamespaceProcessesAsync(string namespaceName)
    {
        IReadOnlyList<int> pids = await ListNamespacePidsAsync(namespaceName);
        foreach (int pid in pids)
        {
            // Only this run's processes can be inside this run's namespaces.
            LabLog.KillingStrayProcess(_logger, pid, namespaceName);
            _ = LibC.Kill(pid, LibC.SigKill);
        }

        if (pids.Count == 0)
        {
            return;
        }

        bool gone = await Poll.UntilAsync(
            async _ => (await ListNamespacePidsAsync(namespaceName)).Count == 0,
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(50),
            TimeProvider.System,
            CancellationToken.None);
        if (!gone)
        {
            throw new LabCommandException($"Processes in namespace {namespaceName} were still alive 10 s after SIGKILL.");
        }
    }
}
