using Tandem.ClusterTests.Lab.Deploy;

namespace Tandem.ClusterTests.Tests.Deploy;

public sealed class PlaybookRecapTests
{
    [Fact]
    public void Parse_ReadsEveryHostOfTheLastRecap()
    {
        const string output = """
            PLAY RECAP *********************************************************************
            node-a                     : ok=1    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0

            PLAY RECAP *********************************************************************
            node-a                     : ok=30   changed=0    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
            node-b                     : ok=26   changed=2    unreachable=1    failed=3    skipped=4    rescued=0    ignored=0
            """;

        IReadOnlyList<HostRecap> hosts = PlaybookRecap.Parse(output);

        Assert.Equal([new HostRecap("node-a", 30, 0, 0, 0), new HostRecap("node-b", 26, 2, 1, 3)], hosts);
    }

    [Fact]
    public void Parse_WithoutRecap_ReturnsNothing() => Assert.Empty(PlaybookRecap.Parse("ERROR! the playbook could not be found"));
}
