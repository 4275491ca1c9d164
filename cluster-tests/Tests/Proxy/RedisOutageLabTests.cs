using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;

using Tandem.ClusterTests.Tests.Monitoring;

namespace Tandem.ClusterTests.Tests.Proxy;

/// <summary>
/// Sends client load with affinity cookies through the virtual address while the lab's redis-server is killed with
/// SIGKILL and later restarted empty on the same address. The master must serve every request from its local pins
/// while Redis is down, report the store as disconnected and then connected again in <c>/metrics</c>, and write the
/// pins of the sessions in use back to the new Redis.
/// </summary>
public sealed class RedisOutageLabTests(ITestOutputHelper output)
{
    private const string ConnectedMetric = "tandem_session_store_connected";
    private const int SessionCount = 20;

    // Every tenth request carries no cookie, so new sessions are also opened during the outage.
    private const int NewSessionEvery = 10;

    private static readonly TimeSpan RequestPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxLoadDuration = TimeSpan.FromSeconds(60);
    private const int MaxRequests = 2500;

    private static readonly TimeSpan LoadBeforeKill = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LoadWhileDown = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly ILogger _logger = new TestOutputLogger(output, TimeProvider.System);

    [Fact(Timeout = 180_000)]
    public async Task RedisKilledAndRestarted_NoRequestFails()
    {
        await LabGate.RequireAsync(LabRequirements.Cluster);
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), _logger, TimeProvider.System, cancellationToken);
        await using (lab)
        {
            LabTopology topology = lab.Topology;
            await lab.StartRedisAsync(cancellationToken);
            await lab.StartBackendsAsync(cancellationToken);
            StartNode(lab, topology.NodeA, lab.Options.Nodes.NodeAPriority);
            StartNode(lab, topology.NodeB, lab.Options.Nodes.NodeBPriority);
            await WaitForMasterAsync(lab, topology.NodeA, cancellationToken);
            Assert.True(
                await WaitForMetricAsync(lab, topology.NodeA, ConnectedMetric, 1, cancellationToken),
                $"node-a never reported {ConnectedMetric} 1.{Environment.NewLine}{lab.DescribeProcesses()}");

            List<(string Cookie, string Backend)> sessions = await OpenSessionsAsync(lab, cancellationToken);
            Assert.Equal(2, sessions.Select(session => session.Backend).Distinct().Count());

            var load = new AffinityLoad(lab, sessions);
            Task loadTask = load.RunAsync(cancellationToken);

            await Task.Delay(LoadBeforeKill, cancellationToken);
            int sentBeforeKill = load.Sent;
            await lab.KillRedisAsync(cancellationToken);
            bool sawDown = await WaitForMetricAsync(lab, topology.NodeA, ConnectedMetric, 0, cancellationToken);
            await Task.Delay(LoadWhileDown, cancellationToken);
            int sentWhileDown = load.Sent - sentBeforeKill;

            await lab.RestartRedisAsync(cancellationToken);
            bool sawUp = await WaitForMetricAsync(lab, topology.NodeA, ConnectedMetric, 1, cancellationToken);

            // Every session is used again after the reconnect, which starts the write-back of its pin.
            await load.RunPastAsync(load.Sent + sessions.Count * 2, cancellationToken);
            load.Stop();
            await loadTask;

            // The cookie value is the session id, then a dot and the destination hint, and the Redis key contains only the id.
            IReadOnlyList<string> keys = sessions.Select(session => $"tandem:affinity:backends:{session.Cookie.Split('.')[0]}").ToList();
            long restored = 0;
            bool allRestored = await Poll.UntilAsync(
                async token => (restored = await CountExistingKeysAsync(lab, keys, token)) == keys.Count,
                TimeSpan.FromSeconds(5), PollInterval, TimeProvider.System, cancellationToken);

            output.WriteLine(
                $"sent={load.Sent} sent_while_down={sentWhileDown} failed={load.Failures.Count} affinity_broken={load.AffinityViolations.Count} " +
                $"new_sessions={load.NewSessions} restored_pins={restored}/{keys.Count}");
            string context = $"{Environment.NewLine}{lab.DescribeProcesses()}";

            Assert.True(sawDown, $"node-a never reported {ConnectedMetric} 0 after Redis was killed.{context}");
            Assert.True(sawUp, $"node-a never reported {ConnectedMetric} 1 after Redis was restarted.{context}");
            Assert.True(sentBeforeKill > 0, "No request was sent before Redis was killed.");
            Assert.True(sentWhileDown >= MinimumRequestsWhileDown, $"Only {sentWhileDown} requests were sent while Redis was down.");
            Assert.True(load.Failures.IsEmpty, $"{load.Failures.Count} requests failed: {string.Join("; ", load.Failures.Take(5))}{context}");
            Assert.True(load.AffinityViolations.IsEmpty, $"Affinity broke: {string.Join("; ", load.AffinityViolations.Take(5))}");
            Assert.True(load.NewSessions > 0, "No request without a cookie was sent.");
            Assert.True(allRestored, $"Only {restored} of {keys.Count} pins are in the restarted Redis.{context}");
        }

        Assert.Empty(lab.TeardownProblems);
        LeftoverReport leftovers = await lab.CheckLeftoversAsync();
        Assert.True(leftovers.IsClean, leftovers.ToString());
    }

    // Half the requests that LoadWhileDown allows at one per RequestPeriod, leaving room for slow handshakes.
    private static int MinimumRequestsWhileDown => (int)(LoadWhileDown / RequestPeriod / 2);

    private static void StartNode(ClusterLab lab, LabHost node, byte priority) =>
        ManagementLab.StartNode(lab, node, priority, ManagementLab.MetricsPort);

    private static async Task WaitForMasterAsync(ClusterLab lab, LabHost master, CancellationToken cancellationToken)
    {
        bool settled = await Poll.UntilAsync(
            async token =>
            {
                IReadOnlyList<LabHost> holders = await lab.FindVirtualAddressHoldersAsync(lab.Topology.Nodes, token);
                return holders.Count == 1 && holders[0] == master
                    && (await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, "/ready", null, token)).Succeeded;
            },
            StateTimeout, PollInterval, TimeProvider.System, cancellationToken);
        Assert.True(settled, $"{master.Name} did not serve the virtual address alone.{Environment.NewLine}{lab.DescribeProcesses()}");
    }

    private static async Task<List<(string Cookie, string Backend)>> OpenSessionsAsync(ClusterLab lab, CancellationToken cancellationToken)
    {
        var sessions = new List<(string Cookie, string Backend)>();
        for (int i = 0; i < SessionCount; i++)
        {
            ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, "/outage", null, cancellationToken);
            Assert.True(result.Succeeded, $"Opening session {i} failed: {result.Failure}: {result.Detail}");
            Assert.NotNull(result.AffinityCookie);
            sessions.Add((result.AffinityCookie, result.Reply!.Backend));
        }

        return sessions;
    }

    /// <summary>Polls <c>/metrics</c> of <paramref name="node"/> until the gauge has <paramref name="expected"/>.</summary>
    private static Task<bool> WaitForMetricAsync(ClusterLab lab, LabHost node, string metric, int expected, CancellationToken cancellationToken) =>
        Poll.UntilAsync(
            async token => await ReadGaugeAsync(lab, node, metric, token) == expected,
            StateTimeout, PollInterval, TimeProvider.System, cancellationToken);

    /// <summary>Reads one unlabelled gauge from the node's plain-text metrics listener, or null when it cannot.</summary>
    private static async Task<double?> ReadGaugeAsync(ClusterLab lab, LabHost node, string metric, CancellationToken cancellationToken)
    {
        string? text = await ExchangeAsync(
            lab, new IPEndPoint(node.Address, ManagementLab.MetricsPort), $"GET /metrics HTTP/1.1\r\nHost: {node.Address}\r\nConnection: close\r\n\r\n", cancellationToken);
        foreach (string line in (text ?? "").Split('\n'))
        {
            if (line.StartsWith(metric + " ", StringComparison.Ordinal)
                && double.TryParse(line[(metric.Length + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Counts with EXISTS how many of <paramref name="keys"/> the lab's Redis has, or -1 when it does not reply.</summary>
    private static async Task<long> CountExistingKeysAsync(ClusterLab lab, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var command = new StringBuilder();
        command.Append(CultureInfo.InvariantCulture, $"*{keys.Count + 1}\r\n$6\r\nEXISTS\r\n");
        foreach (string key in keys)
        {
            command.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(key)}\r\n{key}\r\n");
        }

        string? reply = await ExchangeAsync(
            lab, new IPEndPoint(lab.Topology.Redis.Address, LabTopology.RedisPort), command.ToString(), cancellationToken, readToEnd: false);
        return reply is not null && reply.StartsWith(':') && long.TryParse(reply[1..].Trim(), out long count) ? count : -1;
    }

    /// <summary>Sends <paramref name="request"/> over a new connection from the client namespace and returns the reply, or null on failure.</summary>
    private static async Task<string?> ExchangeAsync(
        ClusterLab lab, IPEndPoint target, string request, CancellationToken cancellationToken, bool readToEnd = true)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using Socket socket = await lab.Client.ConnectAsync(target, deadline.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request), deadline.Token);
            var reply = new MemoryStream();
            var buffer = new byte[16384];
            int read;
            while ((read = await stream.ReadAsync(buffer, deadline.Token)) > 0)
            {
                reply.Write(buffer, 0, read);
                if (!readToEnd)
                {
                    break;
                }
            }

            return Encoding.UTF8.GetString(reply.ToArray());
        }
        catch (Exception exception) when (exception is SocketException or IOException or TimeoutException
                                              || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>
    /// Sends one request every <see cref="RequestPeriod"/> through the virtual address until stopped or a bound is
    /// reached, cycling through the sessions' cookies, and records every failed request and every broken pin.
    /// </summary>
    private sealed class AffinityLoad(ClusterLab lab, IReadOnlyList<(string Cookie, string Backend)> sessions)
    {
        private volatile bool _stopped;
        private int _sent;
        private int _newSessions;

        public ConcurrentQueue<string> Failures { get; } = new();

        public ConcurrentQueue<string> AffinityViolations { get; } = new();

        public int Sent => Volatile.Read(ref _sent);

        public int NewSessions => Volatile.Read(ref _newSessions);

        public void Stop() => _stopped = true;

        /// <summary>Waits until <paramref name="count"/> requests have been sent, or the load has ended.</summary>
        public Task RunPastAsync(int count, CancellationToken cancellationToken) =>
            Poll.UntilAsync(_ => Task.FromResult(Sent >= count || _stopped), MaxLoadDuration, PollInterval, TimeProvider.System, cancellationToken);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            long start = TimeProvider.System.GetTimestamp();
            for (int i = 0; !_stopped && i < MaxRequests && TimeProvider.System.GetElapsedTime(start) < MaxLoadDuration; i++)
            {
                long requestStart = TimeProvider.System.GetTimestamp();
                bool newSession = i % NewSessionEvery == NewSessionEvery - 1;

                // Numbered by the requests with a cookie, so that every session is used in turn.
                (string Cookie, string Backend) session = sessions[(i - i / NewSessionEvery) % sessions.Count];
                ProbeResult result = await lab.Client.GetHttpsAsync(lab.VirtualEndpoint, "/outage", newSession ? null : session.Cookie, cancellationToken);
                Interlocked.Increment(ref _sent);

                if (!result.Succeeded)
                {
                    Failures.Enqueue($"request {i} at {TimeProvider.System.GetElapsedTime(start).TotalMilliseconds:0} ms: {result.Failure}: {result.Detail}");
                }
                else if (newSession)
                {
                    Interlocked.Increment(ref _newSessions);
                    if (result.AffinityCookie is null)
                    {
                        AffinityViolations.Enqueue($"request {i} without a cookie got no new cookie");
                    }
                }
                else if (result.Reply!.Backend != session.Backend || result.AffinityCookie is not null)
                {
                    AffinityViolations.Enqueue(
                        $"request {i}: pinned to {session.Backend}, served by {result.Reply.Backend}, new cookie: {result.AffinityCookie is not null}");
                }

                TimeSpan wait = RequestPeriod - TimeProvider.System.GetElapsedTime(requestStart);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
            }
        }
    }
}
