using System.Reflection;

namespace Tandem.ClusterTests.Lab;

/// <summary>Finds the programs the lab starts: the <c>dotnet</c> host, the node build and the backend build.</summary>
/// <remarks>
/// The lab looks for builds of its own configuration (Debug or Release), which its project
/// references build first. TANDEM_NODE_DLL and TANDEM_REPO_ROOT override the lookups.
/// </remarks>
public static class LabPaths
{
    private const string TargetFramework = "net10.0";

    /// <summary>The configuration this assembly was built in, such as Debug.</summary>
    public static string BuildConfiguration { get; } =
        typeof(LabPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "BuildConfiguration")?.Value ?? "Debug";

    /// <summary>The repository root: the nearest folder above this assembly that contains Cluster.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string NodeAssembly =>
        Environment.GetEnvironmentVariable("TANDEM_NODE_DLL") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(RepositoryRoot, "node", "src", "bin", BuildConfiguration, TargetFramework, "tandem-node.dll");

    public static string BackendAssembly =>
        Path.Combine(RepositoryRoot, "cluster-tests", "Backend", "bin", BuildConfiguration, TargetFramework, "tandem-lab-backend.dll");

    /// <summary>The <c>dotnet</c> host that runs the node and the backends.</summary>
    public static string DotnetHost { get; } = FindDotnetHost();

    private static string FindRepositoryRoot()
    {
        if (Environment.GetEnvironmentVariable("TANDEM_REPO_ROOT") is { Length: > 0 } overridden)
        {
            return overridden;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No Cluster.sln above {AppContext.BaseDirectory}. Run the lab from a build inside the repository or set TANDEM_REPO_ROOT.");
    }

    private static string FindDotnetHost()
    {
        // The dotnet CLI sets DOTNET_HOST_PATH for the processes it starts, such as test hosts.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }
}
