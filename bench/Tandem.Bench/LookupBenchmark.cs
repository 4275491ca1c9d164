using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tandem.SessionStore;

namespace Tandem.Bench;

/// <summary>
/// Measures the cost of one affinity lookup on a node: a hit in the node-local pin cache, and a miss that goes to
/// Redis. It starts its own redis-server on 127.0.0.1 at a free port and stops it by PID at the end.
/// </summary>
/// <remarks>
/// The node's two-tier lookup (<c>AffinityPins</c> in tandem-node) is internal, so this repeats its steps with the
/// public stores: a hit is one <see cref="InProcessAffinityStore.TryGet(string, string, out string, out DateTimeOffset)"/>,
/// and a miss is that failed call, a Redis GET and the store into the cache. A pin read from Redis is written again
/// before the response, because its remaining TTL is unknown, so the first request for a session on the other node
/// also pays one SET, measured separately. A new session pays one SET before its response.
/// </remarks>
internal static class LookupBenchmark
{
    private const string ClusterId = "backends";
    private const string DestinationId = "b1";
    private static readonly TimeSpan TimeToLive = TimeSpan.FromHours(1);
    private const int WarmUpOperations = 1000;
    private static readonly TimeSpan RedisStartTimeout = TimeSpan.FromSeconds(10);

    public static async Task<IReadOnlyList<LatencySummary>> RunAsync(int iterations, CancellationToken cancellationToken)
    {
        string directory = Directory.CreateTempSubdirectory("tandem-bench-").FullName;
        int port = FindFreeLoopbackPort();
        using Process redis = StartRedis(port, directory);
        try
        {
            await WaitForRedisAsync(port, cancellationToken);
            var options = new SessionStoreOptions { Redis = $"127.0.0.1:{port}" };
            await using RedisAffinityStore shared = await RedisAffinityStore.ConnectAsync(
                options, NullLoggerFactory.Instance, TimeProvider.System, new SessionStoreMetrics(), cancellationToken);
            if (!shared.IsConnected)
            {
                throw new InvalidOperationException($"Could not connect to the benchmark's redis-server at 127.0.0.1:{port}.");
            }

            // A capacity above the session count, so the cache never evicts during the run.
            var local = new InProcessAffinityStore(TimeProvider.System, capacity: iterations * 2 + 1000);
            string[] sessions = Enumerable.Range(0, iterations).Select(_ => Guid.NewGuid().ToString("N")).ToArray();

            // Untimed, so the first measured operations pay neither JIT compilation nor the first use of the connection.
            foreach (string session in Enumerable.Range(0, WarmUpOperations).Select(index => $"warm-up-{index}"))
            {
                await shared.SetAsync(ClusterId, session, DestinationId, TimeToLive, cancellationToken);
                await shared.GetAsync(ClusterId, session, cancellationToken);
            }

            var newSession = await MeasureAsync(sessions, async session =>
            {
                local.Set(ClusterId, session, DestinationId, TimeToLive);
                Check(await shared.SetAsync(ClusterId, session, DestinationId, TimeToLive, cancellationToken) == AffinityWriteStatus.Stored);
            });

            var hit = await MeasureAsync(sessions, session =>
            {
                Check(local.TryGet(ClusterId, session, out _, out _));
                return Task.CompletedTask;
            });

            // The other node's view: an empty cache, so every lookup goes to Redis.
            var otherNode = new InProcessAffinityStore(TimeProvider.System, capacity: iterations * 2 + 1000);
            var miss = await MeasureAsync(sessions, async session =>
            {
                Check(!otherNode.TryGet(ClusterId, session, out _, out _));
                AffinityLookup lookup = await shared.GetAsync(ClusterId, session, cancellationToken);
                Check(lookup.Status == AffinityLookupStatus.Found);
                otherNode.Set(ClusterId, session, lookup.DestinationId!, TimeToLive);
            });

            var refresh = await MeasureAsync(sessions, async session =>
                Check(await shared.SetAsync(ClusterId, session, DestinationId, TimeToLive, cancellationToken) == AffinityWriteStatus.Stored));

            return
            [
                LatencySummary.FromTicks("cache hit (local pin)", hit),
                LatencySummary.FromTicks("cache miss (local miss + Redis GET + cache store)", miss),
                LatencySummary.FromTicks("refresh after a miss (Redis SET)", refresh),
                LatencySummary.FromTicks("new session (cache store + Redis SET)", newSession),
            ];
        }
        finally
        {
            if (!redis.HasExited)
            {
                redis.Kill();
                await redis.WaitForExitAsync(CancellationToken.None);
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Runs <paramref name="operation"/> once per session, one at a time, and returns each duration in ticks.</summary>
    private static async Task<List<long>> MeasureAsync(string[] sessions, Func<string, Task> operation)
    {
        var durations = new List<long>(sessions.Length);
        foreach (string session in sessions)
        {
            long start = Stopwatch.GetTimestamp();
            await operation(session);
            durations.Add(Stopwatch.GetTimestamp() - start);
        }

        return durations;
    }

    private static void Check(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException("A benchmark operation did not return the expected result, so its timing is not valid.");
        }
    }

    private static int FindFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartRedis(int port, string directory)
    {
        var startInfo = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
                 {
                     "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--dir", directory,
                 })
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start redis-server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForRedisAsync(int port, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < RedisStartTimeout)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        throw new TimeoutException($"redis-server did not accept connections on 127.0.0.1:{port} within {RedisStartTimeout.TotalSeconds:0} s.");
    }
}
