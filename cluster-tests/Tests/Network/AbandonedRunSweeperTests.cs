using System.Diagnostics;
using System.Security.Cryptography;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Network;

public sealed class AbandonedRunSweeperTests(ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task DeadOwner_RunIsRemoved()
    {
        await LabGate.RequireAsync(LabRequirements.Network);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        LabTopology topology = LabTopology.ForRun(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
        string runDirectory = Path.Combine(Path.GetTempPath(), $"{LabTopology.NamePrefix}{topology.RunId}");
        string ns = topology.Client.Namespace;

        // A run whose owner died: its owner file names a PID that no process has.
        Directory.CreateDirectory(runDirectory);
        await File.WriteAllTextAsync(Path.Combine(runDirectory, AbandonedRunSweeper.OwnerFileName), "999999999 0", cancellationToken);
        await CommandRunner.RunCheckedAsync("ip", ["netns", "add", ns], cancellationToken: cancellationToken);
        using var orphan = Process.Start("ip", ["netns", "exec", ns, "sleep", "600"]);
        try
        {
            bool entered = await Poll.UntilAsync(
                async _ => (await LabNetwork.ListNamespacePidsAsync(ns)).Contains(orphan.Id),
                TimeSpan.FromSeconds(10),
                TimeSpan.FromMilliseconds(20),
                TimeProvider.System,
                cancellationToken);
            Assert.True(entered);

            await AbandonedRunSweeper.SweepAsync(new TestOutputLogger(output, TimeProvider.System));

            Assert.Empty(await LabNetwork.ListNamespacesAsync(topology.NamespacePrefix));
            Assert.False(Directory.Exists(runDirectory));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            await orphan.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            if (!orphan.HasExited)
            {
                orphan.Kill();
            }

            if ((await LabNetwork.ListNamespacesAsync(topology.NamespacePrefix)).Count > 0)
            {
                await CommandRunner.RunAsync("ip", ["netns", "del", ns], cancellationToken: CancellationToken.None);
            }

            if (Directory.Exists(runDirectory))
            {
                Directory.Delete(runDirectory, recursive: true);
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task LiveOwner_RunIsKept()
    {
        await LabGate.RequireAsync(LabRequirements.Network);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        LabTopology topology = LabTopology.ForRun(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
        string runDirectory = Path.Combine(Path.GetTempPath(), $"{LabTopology.NamePrefix}{topology.RunId}");
        string ns = topology.Client.Namespace;

        Directory.CreateDirectory(runDirectory);
        AbandonedRunSweeper.WriteOwner(runDirectory);
        await CommandRunner.RunCheckedAsync("ip", ["netns", "add", ns], cancellationToken: cancellationToken);
        try
        {
            await AbandonedRunSweeper.SweepAsync(new TestOutputLogger(output, TimeProvider.System));

            Assert.Equal([ns], await LabNetwork.ListNamespacesAsync(topology.NamespacePrefix));
            Assert.True(Directory.Exists(runDirectory));
        }
        finally
        {
            await CommandRunner.RunAsync("ip", ["netns", "del", ns], cancellationToken: CancellationToken.None);
            Directory.Delete(runDirectory, recursive: true);
        }
    }
}
