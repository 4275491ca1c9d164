// tandem-drill: the failover demo. See DrillCommandLine.Usage for the options.

using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Drill;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Drill;
using Tandem.ClusterTests.Lab.Processes;

(DrillCommandLine? commandLine, string? error) = DrillCommandLine.Parse(args);
if (commandLine is null)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(DrillCommandLine.Usage);
    return 2;
}

if (commandLine.ShowHelp)
{
    Console.WriteLine(DrillCommandLine.Usage);
    return 0;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Cancel the drill so that teardown still runs; a second Ctrl+C ends the process at once.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};
using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});

// Every log line goes to standard error, so standard output carries the report alone.
using ILoggerFactory loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Information)
    .AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace)
    .AddSimpleConsole(options =>
    {
        options.SingleLine = true;
        options.TimestampFormat = "HH:mm:ss.fff ";
    }));
ILogger logger = loggerFactory.CreateLogger("Tandem.Drill");

IReadOnlyList<string> missing = await LabPrerequisites.FindMissingAsync(LabRequirements.Cluster);
if (missing.Count > 0)
{
    return Fail(commandLine, $"The lab cannot run here: {string.Join(" ", missing)}");
}

var options = new ClusterLabOptions { KeepRunDirectory = commandLine.KeepRunDirectory };
DrillReport? report = null;
string? failure = null;
ClusterLab lab;
try
{
    lab = await ClusterLab.CreateAsync(options, logger, TimeProvider.System, cancellation.Token);
}
catch (LabCommandException exception)
{
    return Fail(commandLine, exception.Message);
}

await using (lab)
{
    try
    {
        await lab.StartAllAsync(cancellation.Token);
        report = await new FailoverDrill(lab, logger, TimeProvider.System).RunAsync(commandLine.Variant, cancellation.Token);
    }
    catch (Exception exception) when (exception is LabStartupException or DrillException or LabCommandException)
    {
        failure = exception.Message;
    }
    catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
    {
        failure = "The drill was cancelled.";
    }
}

LeftoverReport leftovers = await lab.CheckLeftoversAsync();
bool teardownClean = leftovers.IsClean && lab.TeardownProblems.Count == 0;
string teardown = teardownClean
    ? "nothing left behind"
    : $"INCOMPLETE: {leftovers}; {string.Join("; ", lab.TeardownProblems)}";

if (report is null)
{
    return Fail(commandLine, $"{failure} Teardown: {teardown}.");
}

if (commandLine.Json)
{
    var json = JsonSerializer.SerializeToNode(report, DrillReport.JsonOptions)!.AsObject();
    json["teardown_clean"] = teardownClean;
    Console.WriteLine(json.ToJsonString());
}
else
{
    Console.Write(ReportPrinter.Format(report, teardown));
}

return report.Passed && teardownClean ? 0 : 1;

static int Fail(DrillCommandLine commandLine, string message)
{
    if (commandLine.Json)
    {
        Console.WriteLine(JsonSerializer.Serialize(new { passed = false, error = message }));
    }
    else
    {
        Console.Error.WriteLine($"Drill failed: {message}");
    }

    return 1;
}
