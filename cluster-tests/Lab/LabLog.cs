using Microsoft.Extensions.Logging;

namespace Tandem.ClusterTests.Lab;

/// <summary>The log messages of the lab and the drill, with one table of event ids.</summary>
internal static partial class LabLog
{
    [LoggerMessage(1, LogLevel.Information, "Lab {runId}: created the bridge namespace {bridgeNamespace} and {hostCount} host namespaces", EventName = "NetworkCreated")]
    public static partial void NetworkCreated(ILogger logger, string runId, string bridgeNamespace, int hostCount);

    [LoggerMessage(2, LogLevel.Information, "Lab {runId}: deleted {namespaceCount} namespaces with {problemCount} problems", EventName = "NetworkDeleted")]
    public static partial void NetworkDeleted(ILogger logger, string runId, int namespaceCount, int problemCount);

    [LoggerMessage(3, LogLevel.Warning, "Killing process {pid} that was still in namespace {namespaceName} at teardown", EventName = "KillingStrayProcess")]
    public static partial void KillingStrayProcess(ILogger logger, int pid, string namespaceName);

    [LoggerMessage(4, LogLevel.Information, "Started {name} as pid {pid} in namespace {namespaceName}, log {logPath}", EventName = "ProcessStarted")]
    public static partial void ProcessStarted(ILogger logger, string name, int pid, string namespaceName, string logPath);

    [LoggerMessage(5, LogLevel.Information, "{name} is ready after {elapsedMs} ms", EventName = "ServiceReady")]
    public static partial void ServiceReady(ILogger logger, string name, long elapsedMs);

    [LoggerMessage(6, LogLevel.Information, "{node} holds the virtual address {virtualAddress} and the other node stayed backup for {stableMs} ms", EventName = "MasterSettled")]
    public static partial void MasterSettled(ILogger logger, string node, string virtualAddress, long stableMs);

    [LoggerMessage(7, LogLevel.Information, "Drill {variant}: fault injected into {node} at {time:O}", EventName = "FaultInjected")]
    public static partial void FaultInjected(ILogger logger, string variant, string node, DateTimeOffset time);

    [LoggerMessage(8, LogLevel.Information, "Drill {variant}: {node} answered {takeoverMs} ms after the fault, {failedRequests} requests failed meanwhile", EventName = "TakeoverObserved")]
    public static partial void TakeoverObserved(ILogger logger, string variant, string node, long takeoverMs, int failedRequests);

    [LoggerMessage(9, LogLevel.Information, "Release command in {node} exited with code {exitCode} after {durationMs} ms", EventName = "ReleaseFinished")]
    public static partial void ReleaseFinished(ILogger logger, string node, int exitCode, long durationMs);

    [LoggerMessage(10, LogLevel.Warning, "Teardown problem: {problem}", EventName = "TeardownProblem")]
    public static partial void TeardownProblem(ILogger logger, string problem);

    [LoggerMessage(11, LogLevel.Information, "Kept the run directory {path} with configs and logs", EventName = "RunDirectoryKept")]
    public static partial void RunDirectoryKept(ILogger logger, string path);

    [LoggerMessage(12, LogLevel.Warning, "Drill {variant}: no takeover observed within {windowMs} ms of the fault", EventName = "NoTakeover")]
    public static partial void NoTakeover(ILogger logger, string variant, long windowMs);

    [LoggerMessage(13, LogLevel.Warning, "Removing lab run {runId}: its owner process died before teardown", EventName = "SweepingAbandonedRun")]
    public static partial void SweepingAbandonedRun(ILogger logger, string runId);
}
