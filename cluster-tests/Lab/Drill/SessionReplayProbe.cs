using System.Collections.Concurrent;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>
/// Checks that many affinity sessions survive a failover: before the fault it opens <see cref="SessionCount"/>
/// sessions through the virtual address, each with a request without a cookie, and after the takeover it sends one
/// request per saved cookie to the node that has the address now. A session counts as re-pinned when that request
/// reaches another backend than the first one or gets a new cookie, because the standby then did not find the pin.
/// </summary>
/// <remarks>
/// Each phase sends its requests over at most <see cref="Concurrency"/> kept-alive connections, because the TLS
/// handshakes are not under test here and would make the drill several seconds longer. The proxy balances each
/// request on its own, so the sessions spread over both backends. Each phase stops starting requests after
/// <see cref="PhaseTimeout"/>.
/// </remarks>
public sealed class SessionReplayProbe(ClusterLab lab)
{
    public const int SessionCount = 300;

    public const int Concurrency = 8;

    public static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(20);

    private const string RequestPath = "/drill/session";

    private readonly List<AffinitySession> _sessions = [];

    /// <summary>The sessions opened by <see cref="EstablishAsync"/>.</summary>
    public IReadOnlyList<AffinitySession> Sessions => _sessions;

    /// <summary>Opens the sessions and returns up to five messages, one per request that failed or set no cookie.</summary>
    public async Task<IReadOnlyList<string>> EstablishAsync(CancellationToken cancellationToken)
    {
        using PooledHttpsClient client = lab.Client.CreatePooledHttpsClient(lab.VirtualEndpoint, Concurrency);
        var sessions = new ConcurrentBag<(int Index, AffinitySession Session)>();
        var problems = new ConcurrentQueue<string>();
        await ForEachBoundedAsync(
            Enumerable.Range(0, SessionCount),
            async (index, token) =>
            {
                ProbeResult result = await client.GetAsync(RequestPath, null, token);
                if (result is { Succeeded: true, Reply: { } reply, AffinityCookie: { } cookie })
                {
                    sessions.Add((index, new AffinitySession(cookie, reply.Backend)));
                }
                else
                {
                    problems.Enqueue($"session {index}: {(result.Succeeded ? "no affinity cookie" : $"{result.Failure}: {result.Detail}")}");
                }
            },
            cancellationToken);

        _sessions.AddRange(sessions.OrderBy(entry => entry.Index).Select(entry => entry.Session));
        if (_sessions.Count < SessionCount)
        {
            problems.Enqueue($"only {_sessions.Count} of {SessionCount} sessions were opened within {PhaseTimeout.TotalSeconds:0} s.");
        }

        return problems.Take(5).ToList();
    }

    /// <summary>Sends one request per saved cookie through the virtual address and counts what the standby did with it.</summary>
    public async Task<SessionReplayResult> ReplayAsync(CancellationToken cancellationToken)
    {
        // A new pool, so that no connection to the failed master is reused.
        using PooledHttpsClient client = lab.Client.CreatePooledHttpsClient(lab.VirtualEndpoint, Concurrency);
        int repinned = 0;
        int failed = 0;
        int replayed = 0;
        var examples = new ConcurrentQueue<string>();
        await ForEachBoundedAsync(
            _sessions,
            async (session, token) =>
            {
                ProbeResult result = await client.GetAsync(RequestPath, session.Cookie, token);
                Interlocked.Increment(ref replayed);
                if (!result.Succeeded || result.Reply is null)
                {
                    Interlocked.Increment(ref failed);
                    examples.Enqueue($"{result.Failure}: {result.Detail}");
                }
                else if (result.Reply.Backend != session.Backend || result.AffinityCookie is not null)
                {
                    Interlocked.Increment(ref repinned);
                    examples.Enqueue($"pinned to {session.Backend}, served by {result.Reply.Backend}, new cookie: {result.AffinityCookie is not null}");
                }
            },
            cancellationToken);

        return new SessionReplayResult(_sessions.Count, replayed, repinned, failed, examples.Take(3).ToList());
    }

    /// <summary>Counts the opened sessions per backend, to show that they spread over both.</summary>
    public IReadOnlyDictionary<string, int> CountByBackend() =>
        _sessions.GroupBy(session => session.Backend).OrderBy(group => group.Key, StringComparer.Ordinal).ToDictionary(group => group.Key, group => group.Count());

    private static async Task ForEachBoundedAsync<T>(IEnumerable<T> items, Func<T, CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(PhaseTimeout);
        var options = new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = deadline.Token };
        try
        {
            await Parallel.ForEachAsync(items, options, async (item, token) => await body(item, token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The phase ran out of time. The counts cover the requests that finished, and the caller reports the shortfall.
        }
    }
}

/// <summary>An affinity cookie and the backend its first response came from.</summary>
public sealed record AffinitySession(string Cookie, string Backend);

/// <summary>What the replay of the saved cookies after a failover found.</summary>
/// <param name="Sessions">Sessions opened before the fault.</param>
/// <param name="Replayed">Sessions replayed before the phase timeout.</param>
/// <param name="Repinned">Replayed sessions that reached another backend or received a new cookie.</param>
/// <param name="Failed">Replayed requests that failed.</param>
/// <param name="Examples">Up to three re-pinned or failed requests, for the report.</param>
public sealed record SessionReplayResult(int Sessions, int Replayed, int Repinned, int Failed, IReadOnlyList<string> Examples);
