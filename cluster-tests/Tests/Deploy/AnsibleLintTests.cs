using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Tests.Deploy;

/// <summary>Runs Debian's ansible-lint over the deployment, which must pass with its production profile.</summary>
public sealed class AnsibleLintTests
{
    private const string AnsibleLint = "/usr/bin/ansible-lint";

    [Fact]
    public async Task AnsibleLint_DeployDirectory_Passes()
    {
        if (!File.Exists(AnsibleLint))
        {
            string reason = $"{AnsibleLint} is missing; install it with 'apt-get install ansible-lint'.";
            Assert.SkipWhen(!LabGate.IsCi, reason);
            Assert.Fail(reason);
        }

        string directory = Path.Combine(LabPaths.RepositoryRoot, "deploy", "ansible");

        // --offline: no download of requirements and no check for a newer ansible-lint, since the tests reach no network.
        CommandResult result = await CommandRunner.RunAsync(
            AnsibleLint,
            ["--offline", "--nocolor", "--profile", "production", directory],
            TimeSpan.FromMinutes(3),
            TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, $"ansible-lint exited {result.ExitCode}:{Environment.NewLine}{result.StandardOutput}{result.StandardError}");
        Assert.Contains("Passed", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }
}
