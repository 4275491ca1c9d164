using System.Security.Cryptography;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab;

/// <summary>What a lab test needs from the machine.</summary>
[Flags]
public enum LabRequirements
{
    /// <summary>Root, iproute2 and a kernel that lets us create namespaces, veth pairs and bridges.</summary>
    Network = 1,

    /// <summary>redis-server and the backend build.</summary>
    Services = 2,

    /// <summary>The tandem-node build.</summary>
    Node = 4,

    /// <summary>tcpdump and tshark.</summary>
    Capture = 8,

    Cluster = Network | Services | Node,
}

/// <summary>Checks the machine for what the lab needs and names the install step for each missing part.</summary>
public static class LabPrerequisites
{
    /// <summary>Returns one message per missing requirement; an empty list means the lab can run.</summary>
    public static async Task<IReadOnlyList<string>> FindMissingAsync(LabRequirements requirements, string? nodeAssemblyPath = null)
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            missing.Add("The lab needs Linux network namespaces; this machine runs another operating system.");
            return missing;
        }

        if (requirements.HasFlag(LabRequirements.Network))
        {
            await CheckNetworkAsync(missing);
        }

        if (requirements.HasFlag(LabRequirements.Services))
        {
            await CheckCommandAsync(missing, "redis-server", ["--version"], "apt-get install redis-server");
            CheckFile(missing, LabPaths.BackendAssembly, "the lab backend", "dotnet build cluster-tests/Backend");
        }

        if (requirements.HasFlag(LabRequirements.Node))
        {
            CheckFile(missing, nodeAssemblyPath ?? LabPaths.NodeAssembly, "tandem-node", "dotnet build node/src");
        }

        if (requirements.HasFlag(LabRequirements.Capture))
        {
            await CheckCommandAsync(missing, "tcpdump", ["--version"], "apt-get install tcpdump");
            await CheckCommandAsync(missing, "tshark", ["--version"], "DEBIAN_FRONTEND=noninteractive apt-get install tshark");
        }

        return missing;
    }

    private static async Task CheckNetworkAsync(List<string> missing)
    {
        if (LibC.GetEffectiveUserId() != 0)
        {
            missing.Add("The lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces; run it as root.");
            return;
        }

        if (!await CheckCommandAsync(missing, "ip", ["-V"], "apt-get install iproute2"))
        {
            return;
        }

        // A throwaway namespace with a bridge and a veth pair shows that the kernel allows all the lab needs.
        string probe = $"{LabTopology.NamePrefix}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}-probe";
        try
        {
            await RequireAsync(missing, "Creating a network namespace", ["netns", "add", probe]);
            await RequireAsync(missing, "Creating a bridge in a namespace", ["-n", probe, "link", "add", "name", "probe-br", "type", "bridge"]);
            await RequireAsync(missing, "Creating a veth pair in a namespace", ["-n", probe, "link", "add", "probe-a", "type", "veth", "peer", "name", "probe-b"]);
        }
        finally
        {
            if ((await LabNetwork.ListNamespacesAsync(probe)).Count > 0)
            {
                await CommandRunner.RunAsync("ip", ["netns", "del", probe]);
            }
        }
    }

    private static async Task RequireAsync(List<string> missing, string what, string[] arguments)
    {
        if (missing.Count > 0)
        {
            return;
        }

        CommandResult result = await CommandRunner.RunAsync("ip", arguments);
        if (!result.Succeeded)
        {
            missing.Add(
                $"{what} failed ('{result.CommandLine}': {result.StandardError.Trim()}). The lab needs root with CAP_SYS_ADMIN " +
                "and a kernel with network namespaces, veth and bridge support; a container may forbid them.");
        }
    }

    private static async Task<bool> CheckCommandAsync(List<string> missing, string command, string[] arguments, string install)
    {
        try
        {
            CommandResult result = await CommandRunner.RunAsync(command, arguments, TimeSpan.FromSeconds(10));
            if (result.Succeeded)
            {
                return true;
            }

            missing.Add($"'{result.CommandLine}' failed with exit code {result.ExitCode}; reinstall it with: {install}");
        }
        catch (LabCommandException)
        {
            missing.Add($"{command} is not installed; install it with: {install}");
        }

        return false;
    }

    private static void CheckFile(List<string> missing, string path, string what, string build)
    {
        if (!File.Exists(path))
        {
            missing.Add($"{what} is not built: {path} does not exist; build it with: {build}");
        }
    }
}
