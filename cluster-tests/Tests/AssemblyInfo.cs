using System.Runtime.Versioning;

[assembly: SupportedOSPlatform("linux")]

// Each lab test runs five .NET processes and Redis and measures a failover in milliseconds, so
// two at once on a small machine would distort the timings they assert on.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
