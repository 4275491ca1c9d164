using Tandem.Monitoring.V1;
using Tandem.Node.Monitoring;

namespace Tandem.Node.Tests.Monitoring;

public sealed class ClusterViewBuilderTests
{
    [Fact]
    public void FindMasters_OneMaster()
    {
        var routers = ClusterViewBuilder.FindMasters([Member("node-a", VrrpState.Master), Member("node-b", VrrpState.Backup)]).ToList();

        var router = Assert.Single(routers);
        Assert.Equal(51u, router.Vrid);
        Assert.Equal(Mastership.OneMaster, router.Mastership);
        Assert.Equal(["node-a"], router.Masters);
    }

    [Fact]
    public void FindMasters_TwoMastersFlagged()
    {
        var routers = ClusterViewBuilder.FindMasters([Member("node-b", VrrpState.Master), Member("node-a", VrrpState.Master)]).ToList();

        var router = Assert.Single(routers);
        Assert.Equal(Mastership.MultipleMasters, router.Mastership);
        Assert.Equal(["node-a", "node-b"], router.Masters);
    }

    [Fact]
    public void FindMasters_NoMasterFlagged()
    {
        var routers = ClusterViewBuilder.FindMasters([Member("node-a", VrrpState.Backup), Member("node-b", VrrpState.Initialize)]).ToList();

        var router = Assert.Single(routers);
        Assert.Equal(Mastership.NoMaster, router.Mastership);
        Assert.Empty(router.Masters);
    }

    [Fact]
    public void FindMasters_IgnoresStaleMaster()
    {
        // A master killed with SIGKILL still claims Master in its last heartbeat until the heartbeat expires.
        var routers = ClusterViewBuilder.FindMasters(
        [
            Member("node-a", VrrpState.Master, stale: true),
            Member("node-b", VrrpState.Master),
        ]).ToList();

        var router = Assert.Single(routers);
        Assert.Equal(Mastership.OneMaster, router.Mastership);
        Assert.Equal(["node-b"], router.Masters);
    }

    [Fact]
    public void FindMasters_VrrpOffListsNoRouter()
    {
        var member = new ClusterMember { Status = new NodeStatus { NodeName = "node-a" } };

        Assert.Empty(ClusterViewBuilder.FindMasters([member]));
    }

    [Fact]
    public void FindMasters_ActiveActive_MasterPerRouter()
    {
        var nodeA = new NodeStatus { NodeName = "node-a" };
        nodeA.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 51, Name = "web", State = VrrpState.Master });
        nodeA.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 52, Name = "api", State = VrrpState.Backup });
        var nodeB = new NodeStatus { NodeName = "node-b" };
        nodeB.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 52, Name = "api", State = VrrpState.Master });
        nodeB.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 51, Name = "web", State = VrrpState.Backup });

        var routers = ClusterViewBuilder.FindMasters([new ClusterMember { Status = nodeA }, new ClusterMember { Status = nodeB }]).ToList();

        Assert.Equal(2, routers.Count);
        Assert.Equal((51u, "web"), (routers[0].Vrid, routers[0].Name));
        Assert.Equal(["node-a"], routers[0].Masters);
        Assert.Equal(Mastership.OneMaster, routers[0].Mastership);
        Assert.Equal((52u, "api"), (routers[1].Vrid, routers[1].Name));
        Assert.Equal(["node-b"], routers[1].Masters);
        Assert.Equal(Mastership.OneMaster, routers[1].Mastership);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2000, false)]
    [InlineData(2001, true)]
    public void IsStale_AfterTwoIntervals(int ageMilliseconds, bool expected)
    {
        Assert.Equal(expected, ClusterViewBuilder.IsStale(TimeSpan.FromMilliseconds(ageMilliseconds), TimeSpan.FromSeconds(1)));
    }

    private static ClusterMember Member(string name, VrrpState state, bool stale = false)
    {
        var status = new NodeStatus { NodeName = name };
        status.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 51, State = state });
        return new ClusterMember { Status = status, Stale = stale };
    }
}
