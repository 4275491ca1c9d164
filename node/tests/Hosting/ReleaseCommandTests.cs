using System.Diagnostics;

namespace Tandem.Node.Tests.Hosting;

/// <summary>
/// Runs <c>tandem-node release</c> as a child process in a network namespace of its own (<c>unshare --net</c>), so
/// that it changes the addresses of that namespace's loopback interface and never the host's. The kernel removes the
/// namespace when the child exits.
/// </summary>
public sealed class ReleaseCommandTests : IDisposable
{
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-release-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Release_StaleThenAbsent_LogsEachOutcome()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/unshare"))
        {
            const string reason = "This test needs root and unshare(1) to create a network namespace.";
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"CI=true, so it must run: {reason}");
            Assert.Skip(reason);
        }

        var config = Path.Combine(_directory, "node.json");
        await File.WriteAllTextAsync(config, """
            {
              "Vrrp": { "Interface": "lo", "VirtualRouterId": 51, "VirtualAddresses": [ "198.51.100.100/24" ] },
              "Logging": { "Console": { "FormatterName": "simple", "FormatterOptions": { "SingleLine": true } } }
            }
            """, TestContext.Current.CancellationToken);
        var release = $"'{DotnetHost()}' '{Path.Combine(AppContext.BaseDirectory, "tandem-node.dll")}' release --config '{config}'";
        var script = $"ip link set lo up && ip -4 addr add 198.51.100.100/24 dev lo && {release} && {release}";

        var (exitCode, output) = await RunInNewNetworkNamespaceAsync(script);

        Assert.Equal(0, exitCode);
        var lines = output.Split('\n');
        Assert.Single(lines, line => line.Contains("Removed stale virtual address 198.51.100.100/24 from lo", StringComparison.Ordinal));
        Assert.Single(lines, line => line.Contains("Virtual address 198.51.100.100/24 was not on lo, nothing to remove", StringComparison.Ordinal));
        Assert.DoesNotContain("is not on lo", output, StringComparison.Ordinal);
    }

    private static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static async Task<(int ExitCode, string Output)> RunInNewNetworkNamespaceAsync(string script)
    {
        var startInfo = new ProcessStartInfo("/usr/bin/unshare")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--net", "--", "/bin/sh", "-c", script })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var standardOutput = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var standardError = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(ChildTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await standardOutput + await standardError);
    }
}
