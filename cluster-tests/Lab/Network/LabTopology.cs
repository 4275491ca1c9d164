using System.Net;
using System.Security.Cryptography;

namespace Tandem.ClusterTests.Lab.Network;

/// <summary>One machine of the lab: a network namespace with <c>eth0</c> joined to the lab bridge.</summary>
/// <param name="Name">The role name, such as <c>node-a</c>.</param>
/// <param name="Namespace">The network namespace, unique to the run.</param>
/// <param name="Address">The IPv4 address of <c>eth0</c>, with prefix length <see cref="LabTopology.PrefixLength"/>.</param>
/// <param name="BridgePort">The veth end in the bridge namespace that is enslaved to the bridge.</param>
public sealed record LabHost(string Name, string Namespace, IPAddress Address, string BridgePort);

/// <summary>
/// The names and addresses of one lab run. Every name carries a random run id so that runs never
/// collide and whatever a crashed run leaves behind can be recognized.
/// </summary>
/// <remarks>
/// All addresses come from 198.51.100.0/24 (TEST-NET-2, RFC 5737), which routes nowhere, and no
/// namespace gets a default route, so nothing in the lab can reach beyond the bridge.
/// </remarks>
public sealed class LabTopology
{
    /// <summary>The prefix that every namespace, bridge and run directory of the lab starts with.</summary>
    public const string NamePrefix = "tdm-";

    public const int PrefixLength = 24;

    /// <summary>The Linux limit on interface names is 15 characters (IFNAMSIZ - 1).</summary>
    public const int MaxInterfaceNameLength = 15;

    public static readonly IPAddress VirtualAddress = IPAddress.Parse("198.51.100.100");

    public const int ProxyPort = 443;
    public const int RedisPort = 6379;
    public const int BackendPort = 8080;

    /// <summary>The host name the client requests and the certificate names.</summary>
    public const string ServiceHostName = "demo.tandem.test";

    private LabTopology(string runId)
    {
        RunId = runId;
        BridgeNamespace = $"{NamespacePrefix}bridge";
        BridgeName = $"{NamespacePrefix}br";
        NodeA = CreateHost("node-a", "198.51.100.11", "na");
        NodeB = CreateHost("node-b", "198.51.100.12", "nb");
        Redis = CreateHost("redis", "198.51.100.20", "rd");
        Backend1 = CreateHost("backend-1", "198.51.100.31", "b1");
        Backend2 = CreateHost("backend-2", "198.51.100.32", "b2");
        Client = CreateHost("client", "198.51.100.50", "cl");
        Hosts = [NodeA, NodeB, Redis, Backend1, Backend2, Client];
    }

    /// <summary>Six lowercase hex digits, random per run.</summary>
    public string RunId { get; }

    /// <summary>The prefix of every namespace and interface name of this run, such as <c>tdm-3fa9c1-</c>.</summary>
    public string NamespacePrefix => $"{NamePrefix}{RunId}-";

    /// <summary>The namespace that contains only the bridge and the bridge-side veth ends.</summary>
    public string BridgeNamespace { get; }

    public string BridgeName { get; }

    public LabHost NodeA { get; }

    public LabHost NodeB { get; }

    public LabHost Redis { get; }

    public LabHost Backend1 { get; }

    public LabHost Backend2 { get; }

    public LabHost Client { get; }

    public IReadOnlyList<LabHost> Hosts { get; }

    public IReadOnlyList<LabHost> Nodes => [NodeA, NodeB];

    public IReadOnlyList<string> AllNamespaces => [.. Hosts.Select(host => host.Namespace), BridgeNamespace];

    /// <summary>Creates the topology of a new run with a fresh random run id.</summary>
    public static LabTopology Create() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));

    /// <summary>Recreates the topology of an earlier run from its run id, to clean up after it.</summary>
    internal static LabTopology ForRun(string runId) => new(runId);

    /// <summary>Returns the node whose <c>eth0</c> has <paramref name="address"/>, or null.</summary>
    public LabHost? FindNode(IPAddress? address) => Nodes.FirstOrDefault(node => node.Address.Equals(address));

    public LabHost OtherNode(LabHost node) => node == NodeA ? NodeB : NodeA;

    private LabHost CreateHost(string name, string address, string portSuffix)
    {
        string port = $"{NamespacePrefix}{portSuffix}";
        if (port.Length > MaxInterfaceNameLength)
        {
            throw new InvalidOperationException($"The interface name {port} is longer than {MaxInterfaceNameLength} characters.");
        }

        return new LabHost(name, $"{NamespacePrefix}{name}", IPAddress.Parse(address), port);
    }
}
