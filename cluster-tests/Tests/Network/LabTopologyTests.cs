using System.Net;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Tests.Network;

public sealed class LabTopologyTests
{
    private static readonly IPNetwork LabRange = IPNetwork.Parse("198.51.100.0/24");

    [Fact]
    public void InterfaceNames_FitLinuxLimit()
    {
        LabTopology topology = LabTopology.Create();

        Assert.True(topology.BridgeName.Length <= LabTopology.MaxInterfaceNameLength, topology.BridgeName);
        Assert.All(topology.Hosts, host => Assert.True(host.BridgePort.Length <= LabTopology.MaxInterfaceNameLength, host.BridgePort));
    }

    [Fact]
    public void Names_CarryRunId()
    {
        LabTopology topology = LabTopology.Create();

        Assert.Matches("^[0-9a-f]{6}$", topology.RunId);
        Assert.All(topology.AllNamespaces, name => Assert.StartsWith($"tdm-{topology.RunId}-", name));
        Assert.Equal(7, topology.AllNamespaces.Distinct().Count());
    }

    [Fact]
    public void RunIds_DifferBetweenRuns()
    {
        var runIds = Enumerable.Range(0, 20).Select(_ => LabTopology.Create().RunId).ToHashSet();

        // 20 draws from 2^24 ids collide with a probability of about 1e-5.
        Assert.Equal(20, runIds.Count);
    }

    [Fact]
    public void Addresses_StayInsideTestNet2()
    {
        LabTopology topology = LabTopology.Create();

        Assert.All(topology.Hosts, host => Assert.True(LabRange.Contains(host.Address), host.Address.ToString()));
        Assert.True(LabRange.Contains(LabTopology.VirtualAddress));
        Assert.Equal(topology.Hosts.Count, topology.Hosts.Select(host => host.Address).Distinct().Count());
    }

    [Fact]
    public void ParseAddresses_ReadsIpOneLineOutput()
    {
        const string output =
            "2: eth0    inet 198.51.100.11/24 scope global eth0\\       valid_lft forever preferred_lft forever\n" +
            "2: eth0    inet 198.51.100.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n";

        IReadOnlySet<IPAddress> addresses = LabNetwork.ParseAddresses(output);

        Assert.Equal(2, addresses.Count);
        Assert.Contains(IPAddress.Parse("198.51.100.100"), addresses);
    }

    [Fact]
    public void ParseAddresses_EmptyOutputHasNone()
    {
        Assert.Empty(LabNetwork.ParseAddresses(""));
    }
}
