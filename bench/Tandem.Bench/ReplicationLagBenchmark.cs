using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.Bench;

/// <summary>
/// Measures, in the namespace lab, how long after the master's response with a new affinity cookie the pin is
/// readable in Redis from the standby's namespace. The node stores the pin before the response leaves, so the first
/// GET should already find it, and the lag is then one Redis round trip from the standby.
/// </summary>
/// <remarks>
/// The clock starts when the client has read the whole response, which is a little after the response headers left
/// the master, so the lag can only be overstated. Each session is read with GET on one connection that is opened
/// from node-b's namespace, the way node-b would read it, and read again until found, at most for <see cref="MaxWait"/>.
/// </remarks>
internal static class ReplicationLagBenchmark
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    public static async Task<(LatencySummary Lag, int FoundOnFirstRead, int NotFound)> RunAsync(
        int sessions, ILogger logger, CancellationToken cancellationToken)
    {
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            await lab.StartAllAsync(cancellationToken);
            using var standbySockets = new NamespaceSocketFactory(lab.Topology.NodeB.Namespace);
            using Socket socket = await standbySockets.CreateTcpSocketAsync();
            socket.NoDelay = true;
            await socket.ConnectAsync(new IPEndPoint(lab.Topology.Redis.Address, LabTopology.RedisPort), cancellationToken);
            await using var redis = new NetworkStream(socket, ownsSocket: false);

            var lags = new List<long>(sessions);
            int foundOnFirstRead = 0;
            int notFound = 0;
            for (int i = 0; i < sessions; i++)
            {
                ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, "/bench", null, cancellationToken);
                long responded = Stopwatch.GetTimestamp();
                if (result.AffinityCookie is not { } cookie)
                {
                    throw new InvalidOperationException($"Request {i} through the virtual address set no affinity cookie ({result.Failure}: {result.Detail}).");
                }

                // The cookie value is the session id, then a dot and the destination hint, and the Redis key contains only the id.
                string key = $"tandem:affinity:backends:{cookie.Split('.')[0]}";
                int reads = 0;
                bool found = false;
                while (!found && Stopwatch.GetElapsedTime(responded) < MaxWait)
                {
                    reads++;
                    found = await GetExistsAsync(redis, key, cancellationToken);
                }

                if (!found)
                {
                    notFound++;
                    continue;
                }

                lags.Add(Stopwatch.GetTimestamp() - responded);
                foundOnFirstRead += reads == 1 ? 1 : 0;
            }

            return (LatencySummary.FromTicks("pin readable from the standby after the response", lags), foundOnFirstRead, notFound);
        }
    }

    /// <summary>Sends GET for <paramref name="key"/> and returns whether Redis returned a value rather than nil.</summary>
    private static async Task<bool> GetExistsAsync(NetworkStream redis, string key, CancellationToken cancellationToken)
    {
        await redis.WriteAsync(Encoding.ASCII.GetBytes($"*2\r\n$3\r\nGET\r\n${key.Length}\r\n{key}\r\n"), cancellationToken);
        var reply = new StringBuilder();
        var buffer = new byte[256];

        // A bulk reply is "$-1\r\n" for nil, or "$N\r\n" and N bytes and "\r\n" for a value.
        while (true)
        {
            int read = await redis.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("Redis closed the connection.");
            }

            reply.Append(Encoding.ASCII.GetString(buffer, 0, read));
            string text = reply.ToString();
            int headerEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
            if (headerEnd < 0)
            {
                continue;
            }

            if (text[0] != '$')
            {
                throw new InvalidOperationException($"Unexpected Redis reply to GET: {text.Trim()}");
            }

            int length = int.Parse(text[1..headerEnd], System.Globalization.CultureInfo.InvariantCulture);
            if (length < 0)
            {
                return false;
            }

            if (text.Length >= headerEnd + 2 + length + 2)
            {
                return true;
            }
        }
    }
}
