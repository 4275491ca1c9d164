using System.Net;
using System.Text.Json;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Monitoring;

/// <summary>
/// What the lab tests of the management API share: nodes started with their management listener on their own lab
/// address, open to the client namespace only, and tandemctl run in the client namespace against them.
/// </summary>
internal static class ManagementLab
{
    public const int ManagementPort = 9901;
    public const int MetricsPort = 9902;

    public static string TandemctlAssembly =>
        Path.Combine(LabPaths.RepositoryRoot, "monitoring", "cli", "bin", LabPaths.BuildConfiguration, "net10.0", "tandemctl.dll");

    /// <summary>Checks the lab can run and tandemctl is built: skips the test without them, or fails it under CI=true.</summary>
    public static async Task RequireAsync()
    {
        await LabGate.RequireAsync(LabRequirements.Cluster);
        if (!File.Exists(TandemctlAssembly))
        {
            string reason = $"{TandemctlAssembly} is missing. Build it with 'dotnet build monitoring/cli'.";
            Assert.SkipWhen(!LabGate.IsCi, reason);
            Assert.Fail(reason);
        }
    }

    /// <summary>Starts <paramref name="node"/> with its management listener on its lab address, plus any <paramref name="settings"/>.</summary>
    public static void StartNode(ClusterLab lab, LabHost node, byte priority, int metricsPort, params string[] settings)
    {
        string configPath = NodeConfigFile.Write(lab.RunDirectory, lab.Topology, node, priority, lab.Options.Nodes, lab.Certificate);
        lab.StartProcess(
            node.Name,
            node.Namespace,
            LabPaths.DotnetHost,
            [
                lab.NodeAssemblyPath, "--config", configPath,
                $"--Management:Address={node.Address}",
                $"--Management:Port={ManagementPort}",
                $"--Management:MetricsPort={metricsPort}",
                $"--Management:AllowedNetworks:0={lab.Topology.Client.Address}/32",
                .. settings,
            ]);
    }

    /// <summary>Runs tandemctl in the client namespace, or in <paramref name="namespaceName"/> when given.</summary>
    public static Task<CommandResult> RunTandemctlAsync(
        ClusterLab lab, IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? namespaceName = null) =>
        CommandRunner.RunAsync(
            "ip",
            ["netns", "exec", namespaceName ?? lab.Topology.Client.Namespace, LabPaths.DotnetHost, TandemctlAssembly, .. arguments],
            TimeSpan.FromSeconds(30),
            cancellationToken);

    /// <summary>
    /// Returns <paramref name="property"/> ("status" or "cluster") of the first node in <c>tandemctl status --json</c>
    /// for <paramref name="node"/>, or null while the node does not respond.
    /// </summary>
    public static async Task<JsonElement?> ReadStatusJsonAsync(ClusterLab lab, LabHost node, string property, CancellationToken cancellationToken)
    {
        CommandResult result = await RunTandemctlAsync(lab, ["status", "--node", Endpoint(node), "--json", "--timeout", "2"], cancellationToken);
        if (result.ExitCode != 0)
        {
            return null;
        }

        using JsonDocument document = JsonDocument.Parse(result.StandardOutput);
        return document.RootElement[0].GetProperty(property).Clone();
    }

    public static string Endpoint(LabHost node) => new IPEndPoint(node.Address, ManagementPort).ToString();
}
