using System.Globalization;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

public sealed class StatusRendererTests
{
    private static readonly NodeEndpoint NodeA = new("198.51.100.11", 9901);
    private static readonly NodeEndpoint NodeB = new("198.51.100.12", 9901);

    [Fact]
    public void Table_MasterAndBackupRows()
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output,
        [
            new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success),
            new NodeResult(NodeB, TestStatuses.Backup(), null, ExitCodes.Success),
        ]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(3, lines.Length);
        Assert.Equal(
            "NODE    AGE   VRID  STATE   PRIO  MASTER               VIPS               BACKENDS  STORE            CERT DAYS",
            lines[0]);
        Assert.Equal(
            "node-a  live  51    master  150   self                 198.51.100.100/24  1/2       redis connected  42",
            lines[1]);
        Assert.Equal(
            "node-b  live  51    backup  100   198.51.100.11 (150)  -                  1/2       redis connected  42",
            lines[2]);
    }

    [Fact]
    public void Table_VrrpOffAndUnreachable()
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output,
        [
            new NodeResult(NodeA, TestStatuses.WithoutVrrp(), null, ExitCodes.Success),
            new NodeResult(NodeB, null, "cannot connect", ExitCodes.Unreachable),
        ]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(3, lines.Length);
        Assert.StartsWith("single              live  -     vrrp off", lines[1], StringComparison.Ordinal);
        Assert.Contains("in-process", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("198.51.100.12:9901  -     -     unreachable", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Json_StatusAndErrorPerNode()
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteJson(output,
        [
            new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success),
            new NodeResult(NodeB, null, "cannot connect", ExitCodes.Unreachable),
        ]);
        using var document = JsonDocument.Parse(output.ToString());
        var nodes = document.RootElement.EnumerateArray().ToList();

        Assert.Equal(2, nodes.Count);
        Assert.Equal("198.51.100.11:9901", nodes[0].GetProperty("endpoint").GetString());
        var router = nodes[0].GetProperty("status").GetProperty("virtualRouters")[0];
        Assert.Equal("VRRP_STATE_MASTER", router.GetProperty("state").GetString());
        Assert.Equal(51, router.GetProperty("vrid").GetInt32());
        Assert.Equal("cannot connect", nodes[1].GetProperty("error").GetString());
        Assert.False(nodes[1].TryGetProperty("status", out _));
    }

    [Fact]
    public void Table_ClusterViewListsPeersWithAge()
    {
        var view = View("node-a", Member(TestStatuses.Master(), self: true), Member(TestStatuses.Backup(), seconds: 0.8));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success, view)]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(4, lines.Length);
        Assert.StartsWith("node-a  live  51    master", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("node-b  0.8s  51    backup", lines[2], StringComparison.Ordinal);
        Assert.Equal("VRID 51: master node-a", lines[3]);
    }

    [Fact]
    public void Table_ActiveActiveNamesEachRouter()
    {
        var nodeA = ActiveActive("node-a", webState: VrrpState.Master, apiState: VrrpState.Backup);
        var nodeB = ActiveActive("node-b", webState: VrrpState.Backup, apiState: VrrpState.Master);
        var view = View("node-a", Member(nodeA, self: true), Member(nodeB, seconds: 0.4));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeA, nodeA, null, ExitCodes.Success, view)]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(7, lines.Length);
        Assert.StartsWith("node-a  live  51 web  master", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("node-a  live  52 api  backup", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("node-b  0.4s  51 web  backup", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("node-b  0.4s  52 api  master", lines[4], StringComparison.Ordinal);
        Assert.Equal("VRID 51 web: master node-a", lines[5]);
        Assert.Equal("VRID 52 api: master node-b", lines[6]);
    }

    [Fact]
    public void Event_StateChangeNamesRouter()
    {
        var nodeEvent = new NodeEvent
        {
            StateChanged = new VrrpStateChanged
            {
                Vrid = 52,
                Router = "api",
                Transition = new StateTransition { From = VrrpState.Backup, To = VrrpState.Master, Reason = "no advert" },
            },
        };

        var line = StatusRenderer.FormatEvent(NodeA, nodeEvent);

        Assert.EndsWith("vrrp vrid 52 api: backup -> master (no advert)", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "51")]
    [InlineData("default", "51")]
    [InlineData("web", "51 web")]
    public void Label_LeavesOutDefaultName(string name, string expected)
    {
        Assert.Equal(expected, StatusRenderer.Label(51, name));
    }

    [Fact]
    public void Table_TwoMastersFlagged()
    {
        var view = View("node-a", Member(TestStatuses.Master(), self: true), Member(TestStatuses.Master("node-b"), seconds: 0.5));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success, view)]);

        Assert.Contains("VRID 51: 2 MASTERS at once: node-a, node-b", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Table_StaleMasterNotCounted()
    {
        var view = View(
            "node-b",
            Member(TestStatuses.Master("node-a"), seconds: 3.4, stale: true),
            Member(TestStatuses.Master("node-b"), self: true));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeB, TestStatuses.Master("node-b"), null, ExitCodes.Success, view)]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.StartsWith("node-a  3.4s stale  51    master", lines[1], StringComparison.Ordinal);
        Assert.Equal("VRID 51: master node-b", lines[3]);
    }

    [Fact]
    public void Table_NoMasterFlagged()
    {
        var view = View("node-b", Member(TestStatuses.Backup(), self: true));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeB, TestStatuses.Backup(), null, ExitCodes.Success, view)]);

        Assert.Contains("VRID 51: NO MASTER among the current nodes", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Table_TwoViewsKeepFreshestEntry()
    {
        var fromA = View("node-a", Member(TestStatuses.Master(), self: true), Member(TestStatuses.Backup(), seconds: 0.9));
        var fromB = View("node-b", Member(TestStatuses.Master(), seconds: 0.3), Member(TestStatuses.Backup(), self: true));
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output,
        [
            new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success, fromA),
            new NodeResult(NodeB, TestStatuses.Backup(), null, ExitCodes.Success, fromB),
        ]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(4, lines.Length);
        Assert.StartsWith("node-a  live", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("node-b  live", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Table_StoreDownSaysViewIncomplete()
    {
        var view = View("node-a", Member(TestStatuses.Master(), self: true));
        view.PeersAvailable = false;
        view.PeersError = "Timeout";
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success, view)]);

        Assert.Contains(
            "node-a: cluster view incomplete because reading the heartbeats from the session store failed (Timeout), so it lists only itself.",
            output.ToString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Json_CarriesClusterView()
    {
        var view = View("node-a", Member(TestStatuses.Master(), self: true), Member(TestStatuses.Backup(), seconds: 1.5, stale: true));
        view.VirtualRouters.Add(new VirtualRouterMastership { Vrid = 51, Mastership = Mastership.OneMaster, Masters = { "node-a" } });
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteJson(output, [new NodeResult(NodeA, TestStatuses.Master(), null, ExitCodes.Success, view)]);
        using var document = JsonDocument.Parse(output.ToString());
        var node = document.RootElement[0];
        var cluster = node.GetProperty("cluster");

        Assert.Equal("node-a", node.GetProperty("status").GetProperty("nodeName").GetString());
        Assert.Equal(2, cluster.GetProperty("members").GetArrayLength());
        Assert.Equal("1.500s", cluster.GetProperty("members")[1].GetProperty("age").GetString());
        Assert.True(cluster.GetProperty("members")[1].GetProperty("stale").GetBoolean());
        Assert.Equal("MASTERSHIP_ONE_MASTER", cluster.GetProperty("virtualRouters")[0].GetProperty("mastership").GetString());
    }

    [Fact]
    public void Table_DegradedNodeFlagged()
    {
        var degraded = TestStatuses.Master();
        degraded.Degraded = true;
        degraded.DegradedReasons.Add("session_store_unreachable");
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output,
        [
            new NodeResult(NodeA, degraded, null, ExitCodes.Success),
            new NodeResult(NodeB, TestStatuses.Backup(), null, ExitCodes.Success),
        ]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.Equal(4, lines.Length);
        Assert.Equal("node-a: degraded (session_store_unreachable)", lines[3]);
    }

    [Fact]
    public void Table_CertificateDaysOfEarliestExpiry()
    {
        var status = TestStatuses.Master();
        status.Certificates.Add(new CertificateStatus { Subject = "CN=www.example.com", DaysLeft = 42 });
        status.Certificates.Add(new CertificateStatus { Subject = "CN=api.example.com", DaysLeft = 7 });
        var output = new StringWriter(CultureInfo.InvariantCulture);

        StatusRenderer.WriteTable(output, [new NodeResult(NodeA, status, null, ExitCodes.Success)]);
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);

        Assert.EndsWith("redis connected  7", lines[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "2026-01-01T12:00:00.000Z node: degraded (session_store_unreachable)")]
    [InlineData(false, "2026-01-01T12:00:00.000Z node: no longer degraded")]
    public void Event_DegradedChangedOnOneLine(bool isDegraded, string expected)
    {
        var change = new DegradedChanged { Degraded = isDegraded };
        if (isDegraded)
        {
            change.Reasons.Add("session_store_unreachable");
        }

        var nodeEvent = new NodeEvent
        {
            Time = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
            DegradedChanged = change,
        };

        Assert.Equal(expected, StatusRenderer.FormatEvent(NodeA, nodeEvent));
    }

    [Fact]
    public void Event_CertificateExpiringOnOneLine()
    {
        var nodeEvent = new NodeEvent
        {
            Time = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
            CertificateExpiring = new CertificateExpiring
            {
                Subject = "CN=www.example.com",
                NotAfter = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 11, 0, 0, 0, TimeSpan.Zero)),
                DaysLeft = 9,
                WarningDays = 14,
            },
        };

        var line = StatusRenderer.FormatEvent(NodeA, nodeEvent);

        Assert.Equal(
            "2026-01-01T12:00:00.000Z certificate CN=www.example.com: 9 days left, expires 2026-01-11T00:00:00Z (warning from 14 days)",
            line);
    }

    [Fact]
    public void Event_StateChangeOnOneLine()
    {
        var nodeEvent = new NodeEvent
        {
            Time = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
            StateChanged = new VrrpStateChanged
            {
                Vrid = 51,
                Transition = new StateTransition { From = VrrpState.Backup, To = VrrpState.Master, Reason = "master down" },
            },
        };

        var line = StatusRenderer.FormatEvent(NodeA, nodeEvent);

        Assert.Equal("2026-01-01T12:00:00.000Z vrrp vrid 51: backup -> master (master down)", line);
    }

    [Fact]
    public void EventJson_SingleLine()
    {
        var nodeEvent = new NodeEvent { Snapshot = TestStatuses.Master() };

        var json = StatusRenderer.FormatEventJson(nodeEvent);

        Assert.DoesNotContain('\n', json);
        using var document = JsonDocument.Parse(json);
        Assert.Equal("node-a", document.RootElement.GetProperty("snapshot").GetProperty("nodeName").GetString());
    }

    /// <summary>A node with the routers web (VRID 51) and api (VRID 52) in the given states.</summary>
    private static NodeStatus ActiveActive(string name, VrrpState webState, VrrpState apiState)
    {
        var status = TestStatuses.Master(name);
        status.VirtualRouters.Clear();
        status.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 51, Name = "web", State = webState, ConfiguredPriority = 100 });
        status.VirtualRouters.Add(new VirtualRouterStatus { Vrid = 52, Name = "api", State = apiState, ConfiguredPriority = 100 });
        return status;
    }

    private static ClusterView View(string reportingNode, params ClusterMember[] members)
    {
        var view = new ClusterView { ReportingNode = reportingNode, PeersAvailable = true };
        view.Members.AddRange(members);
        return view;
    }

    private static ClusterMember Member(NodeStatus status, bool self = false, double seconds = 0, bool stale = false) => new()
    {
        Status = status,
        Self = self,
        Age = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)),
        Stale = stale,
    };
}
