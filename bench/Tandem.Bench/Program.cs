// tandem-bench: measures the affinity lookup and the replication lag of pins. See Usage for the options.
// Benchmarks, not tests: they assert nothing beyond the correctness of each measured operation.

using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Tandem.Bench;

const string Usage =
    """
    Usage: tandem-bench [lookup|replication|all] [--iterations N] [--sessions N]
      lookup        cache hit and miss of the affinity lookup against a redis-server on 127.0.0.1 (default 20000 iterations)
      replication   time from the master's response with a new cookie until the pin is readable from the standby,
                    in the namespace lab (needs root, redis-server and a build of tandem-node; default 200 sessions)
      all           both (the default)
    """;

string mode = "all";
int iterations = 20_000;
int sessions = 200;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "lookup" or "replication" or "all":
            mode = args[i];
            break;
        case "--iterations" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int parsed) && parsed is > 0 and <= 1_000_000:
            iterations = parsed;
            i++;
            break;
        case "--sessions" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int parsed) && parsed is > 0 and <= 10_000:
            sessions = parsed;
            i++;
            break;
        default:
            Console.Error.WriteLine($"Invalid argument '{args[i]}'. --iterations takes 1 to 1000000, --sessions 1 to 10000.");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Cancel so that the lab and the redis-server are still removed; a second Ctrl+C ends the process at once.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

// SIGTERM (for example from timeout(1)) cancels the same way, so the lab's namespaces are removed too.
using var termination = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM,
    context =>
    {
        context.Cancel = !cancellation.IsCancellationRequested;
        cancellation.Cancel();
    });

Console.WriteLine($"{Environment.ProcessorCount} CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
if (mode is "lookup" or "all")
{
    Console.WriteLine();
    Console.WriteLine($"Affinity lookup, {iterations} sessions, one operation at a time:");
    Console.WriteLine(LatencySummary.Header);
    foreach (LatencySummary summary in await LookupBenchmark.RunAsync(iterations, cancellation.Token))
    {
        Console.WriteLine(summary);
    }
}

if (mode is "replication" or "all")
{
    Console.WriteLine();
    Console.WriteLine($"Replication lag, {sessions} new sessions through the virtual address:");
    var (lag, foundOnFirstRead, notFound) = await ReplicationLagBenchmark.RunAsync(sessions, NullLogger.Instance, cancellation.Token);
    Console.WriteLine(LatencySummary.Header);
    Console.WriteLine(lag);
    Console.WriteLine($"found on the first read: {foundOnFirstRead} of {sessions}; not found within 1 s: {notFound}");
}

return 0;
