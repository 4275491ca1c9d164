using Tandem.ClusterTests.Lab.Deploy;

namespace Tandem.ClusterTests.Tests.Deploy;

public sealed class PlaybookTimelineTests
{
    private const string Output = """
        PLAY [Roll out the nodes one at a time] ****************************************

        TASK [tandem_node : Check whether tandem-node runs here] ***********************
        Saturday 05 December 2026  00:11:55 +0000 (0:00:00.018)       0:00:00.018 *****
        ok: [node-a]

        RUNNING HANDLER [tandem_node : Hand over the master role] **********************
        Saturday 05 December 2026  00:12:03 +0000 (0:00:08.100)       0:00:08.118 *****
        changed: [node-a]

        TASK [tandem_node : Query the cluster] *****************************************
        Saturday 05 December 2026  00:12:07 +0000 (0:00:04.000)       0:00:12.118 *****
        included: /deploy/ansible/roles/tandem_node/tasks/status.yml for node-a

        PLAY RECAP *********************************************************************
        node-a                     : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
        """;

    // The first stamp fixes the play's start at 00:11:54.982, and the others follow from their elapsed times.
    [Fact]
    public void Parse_ReadsTasksHandlersAndTheirHosts()
    {
        IReadOnlyList<PlaybookStep> steps = PlaybookTimeline.Parse(Output);

        Assert.Equal(
            [
                new PlaybookStep(new DateTimeOffset(2026, 12, 5, 0, 11, 55, 0, TimeSpan.Zero), "tandem_node : Check whether tandem-node runs here", "node-a"),
                new PlaybookStep(new DateTimeOffset(2026, 12, 5, 0, 12, 3, 100, TimeSpan.Zero), "tandem_node : Hand over the master role", "node-a"),
                new PlaybookStep(new DateTimeOffset(2026, 12, 5, 0, 12, 7, 100, TimeSpan.Zero), "tandem_node : Query the cluster", "node-a"),
            ],
            steps);
    }

    [Fact]
    public void PhaseAt_NamesTheStepsAroundTheTime()
    {
        IReadOnlyList<PlaybookStep> steps = PlaybookTimeline.Parse(Output);

        string phase = PlaybookTimeline.PhaseAt(steps, new DateTimeOffset(2026, 12, 5, 0, 12, 5, 250, TimeSpan.Zero));

        Assert.Equal(
            "00:12:05.250, after 'tandem_node : Hand over the master role' on node-a at 00:12:03.100 and before 'tandem_node : Query the cluster' on node-a at 00:12:07.100",
            phase);
    }

    [Fact]
    public void Parse_WithoutTimestamps_ReturnsNothing() =>
        Assert.Empty(PlaybookTimeline.Parse("TASK [tandem_node : Query the cluster] ****\nok: [node-a]\n"));
}
