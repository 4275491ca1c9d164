using Tandem.ClusterTests.Lab;

namespace Tandem.ClusterTests.Tests;

/// <summary>
/// Decides what a lab test does on a machine that lacks something it needs: under CI=true the
/// test fails with the reason, because CI is meant to run it; elsewhere it is skipped with the reason.
/// </summary>
internal static class LabGate
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static async Task RequireAsync(LabRequirements requirements)
    {
        IReadOnlyList<string> missing = await LabPrerequisites.FindMissingAsync(requirements);
        if (missing.Count == 0)
        {
            return;
        }

        string reason = string.Join(" ", missing);
        if (IsCi)
        {
            Assert.Fail($"CI=true, so this lab test must run, but: {reason}");
        }

        Assert.Skip(reason);
    }
}
