using Microsoft.Extensions.Logging;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>The log messages of the deployment lab, with event ids from 900 so they never meet those of <see cref="LabLog"/>.</summary>
internal static partial class DeployLog
{
    [LoggerMessage(900, LogLevel.Information, "Deploy lab {runId}: {step} took {elapsedMs} ms", EventName = "StepTook")]
    public static partial void StepTook(ILogger logger, string runId, string step, long elapsedMs);

    [LoggerMessage(901, LogLevel.Warning, "Deploy lab: removing abandoned run {runId} in {runDirectory}", EventName = "SweepingAbandonedRun")]
    public static partial void SweepingAbandonedRun(ILogger logger, string runId, string runDirectory);

    [LoggerMessage(902, LogLevel.Warning, "Deploy lab {runId}: teardown problem: {problem}", EventName = "TeardownProblem")]
    public static partial void TeardownProblem(ILogger logger, string runId, string problem);
}
