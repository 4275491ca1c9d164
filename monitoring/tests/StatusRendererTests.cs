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
            "NODE    ENDPOINT            VRID  STATE   PRIO  MASTER               VIPS               BACKENDS  STORE            CERT DAYS",
            lines[0]);
        Assert.Equal(
            "node-a  198.51.100.11:9901  51    master  150   self                 198.51.100.100/24  1/2       redis connected  42",
            lines[1]);
        Assert.Equal(
            "node-b  198.51.100.12:9901  51    backup  100   198.51.100.11 (150)  -                  1/2       redis connected  42",
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
        Assert.StartsWith("single  198.51.100.11:9901  -     vrrp off", lines[1], StringComparison.Ordinal);
        Assert.Contains("in-process", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("?       198.51.100.12:9901  -     unreachable", lines[2], StringComparison.Ordinal);
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
}
