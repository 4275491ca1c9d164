using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tandem.Node.SessionAffinity;
using Tandem.SessionStore;
using Tandem.SessionStore.TicketKeys;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace Tandem.Node.Tests.SessionAffinity;

public sealed class ClusterCookieAffinityPolicyTests
{
    private const string CookieName = "Tandem.Affinity";
    private static readonly TimeSpan TimeToLive = TimeSpan.FromHours(1);

    private static readonly SessionAffinityConfig Config = new()
    {
        Enabled = true,
        Policy = ClusterCookieAffinityPolicy.PolicyName,
        AffinityKeyName = CookieName,
    };

    private readonly FakeTimeProvider _clock = new();
    private readonly ClusterState _cluster = new("backends");
    private readonly DestinationState[] _destinations = [new("b1"), new("b2")];

    [Fact]
    public async Task FirstResponse_PinsAndSetsCookie()
    {
        var node = CreateNode();
        var context = CreateContext(cookie: null);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        var setCookie = Assert.Single(context.Response.Headers.SetCookie);
        var sessionId = ReadSessionId(setCookie);
        Assert.Equal(22, sessionId.Length);
        Assert.Contains("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.True(node.Local.TryGet("backends", sessionId, out var destinationId, out _));
        Assert.Equal("b2", destinationId);
        Assert.Equal(1, node.Metrics.PinsCreated);
    }

    [Fact]
    public async Task CookieFromFirstResponse_RoutesToSameDestination()
    {
        var node = CreateNode();
        var sessionId = await PinNewSessionAsync(node, _destinations[1]);
        var context = CreateContext(sessionId);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.NotNull(result.Destinations);
        Assert.Equal("b2", Assert.Single(result.Destinations).DestinationId);
        Assert.Equal(0, context.Response.Headers.SetCookie.Count);
        Assert.Equal(1, node.Metrics.PinsCreated);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("../../etc/passwd")]
    public async Task GarbageCookie_TreatedAsAbsentAndCounted(string cookie)
    {
        var node = CreateNode();
        var context = CreateContext(cookie);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[0], CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, node.Metrics.GetCookiesRejected(CookieRejectReason.Malformed));
        Assert.NotEqual(cookie, ReadSessionId(Assert.Single(context.Response.Headers.SetCookie)));
    }

    [Fact]
    public async Task UnknownSessionId_TreatedAsAbsentAndCounted()
    {
        var node = CreateNode();
        var context = CreateContext(SessionId.Create());

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, node.Metrics.GetCookiesRejected(CookieRejectReason.Unknown));
        Assert.Equal(0, node.Metrics.GetCookiesRejected(CookieRejectReason.Malformed));
    }

    [Fact]
    public async Task ExpiredPin_TreatedAsUnknown()
    {
        var node = CreateNode();
        var sessionId = await PinNewSessionAsync(node, _destinations[0]);
        _clock.Advance(TimeToLive);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(CreateContext(sessionId), _cluster, Config, _destinations, CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, node.Metrics.GetCookiesRejected(CookieRejectReason.Unknown));
    }

    [Fact]
    public async Task PinInUse_WrittenBackAfterCheckInterval()
    {
        var shared = new ScriptedAffinityStore();
        var node = CreateNode(shared);
        var sessionId = await PinNewSessionAsync(node, _destinations[0]);

        _clock.Advance(AffinityPins.SharedCheckInterval - TimeSpan.FromSeconds(1));
        await RouteAsync(node, sessionId, _destinations[0]);
        var writesBeforeInterval = shared.Writes;
        _clock.Advance(TimeSpan.FromSeconds(1));
        await RouteAsync(node, sessionId, _destinations[0]);

        Assert.Equal(1, writesBeforeInterval);
        Assert.Equal(2, shared.Writes);
    }

    [Fact]
    public async Task PinnedDestinationDown_OldPinNotWrittenBack()
    {
        var shared = new ScriptedAffinityStore();
        var node = CreateNode(shared);
        var sessionId = await PinNewSessionAsync(node, _destinations[1]);
        _clock.Advance(AffinityPins.SharedCheckInterval);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(
            CreateContext(sessionId), _cluster, Config, [_destinations[0]], CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal("b1", Assert.Single(result.Destinations!).DestinationId);
        Assert.Equal(1, shared.Writes);
    }

    [Fact]
    public async Task PinnedDestinationDown_RepinsSameSession()
    {
        var node = CreateNode();
        var sessionId = await PinNewSessionAsync(node, _destinations[1]);
        var context = CreateContext(sessionId);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, [_destinations[0]], CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[0], CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal("b1", Assert.Single(result.Destinations!).DestinationId);
        Assert.Equal(1, node.Metrics.PinnedDestinationUnavailable);
        Assert.Equal(1, node.Metrics.Repinned);
        Assert.Equal(sessionId, ReadSessionId(Assert.Single(context.Response.Headers.SetCookie)));
        Assert.True(node.Local.TryGet("backends", sessionId, out var destinationId, out _));
        Assert.Equal("b1", destinationId);
    }

    [Fact]
    public async Task Repin_TwoNodesPickSameDestination()
    {
        DestinationState[] all = [new("b1"), new("b2"), new("b3"), new("b4"), new("b5")];
        DestinationState[] healthy = [all[0], all[2], all[3], all[4]];
        var picks = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var shared = new InProcessAffinityStore(_clock, capacity: 100);
            var nodeA = CreateNode(shared);
            var nodeB = CreateNode(shared);
            var sessionId = await PinNewSessionAsync(nodeA, all[1]);

            var resultA = await nodeA.Policy.FindAffinitizedDestinationsAsync(CreateContext(sessionId), _cluster, Config, healthy, CancellationToken.None);
            var resultB = await nodeB.Policy.FindAffinitizedDestinationsAsync(CreateContext(sessionId), _cluster, Config, healthy.Reverse().ToArray(), CancellationToken.None);

            var pickA = Assert.Single(resultA.Destinations!).DestinationId;
            Assert.Equal(pickA, Assert.Single(resultB.Destinations!).DestinationId);
            picks.Add(pickA);
        }

        // 40 random sessions over 4 destinations: all land on one with probability 4 * (1/4)^40.
        Assert.True(picks.Count > 1, "rendezvous hashing sent every session to the same destination");
    }

    [Fact]
    public async Task Repin_NoHealthyDestination_NotFound()
    {
        var node = CreateNode();
        var sessionId = await PinNewSessionAsync(node, _destinations[1]);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(CreateContext(sessionId), _cluster, Config, [], CancellationToken.None);

        Assert.Equal(AffinityStatus.DestinationNotFound, result.Status);
        Assert.Equal(0, node.Metrics.Repinned);
    }

    [Fact]
    public async Task FailPolicy_NoDestinationAndCounted()
    {
        var node = CreateNode(policy: UnhealthyPinPolicy.Fail);
        var sessionId = await PinNewSessionAsync(node, _destinations[1]);
        var context = CreateContext(sessionId);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, [_destinations[0]], CancellationToken.None);

        // YARP returns 503 when the affinity policy leaves no available destination (tested end to end).
        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Empty(result.Destinations!);
        Assert.Equal(1, node.Metrics.UnhealthyPinRejected);
        Assert.True(node.Local.TryGet("backends", sessionId, out var destinationId, out _));
        Assert.Equal("b2", destinationId);
    }

    [Fact]
    public async Task Hint_RedisDownCacheEmpty_RoutesToPin()
    {
        await using var ring = await StartRingAsync();
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(ring));
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable }, hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);
        var context = CreateContext(cookie);

        var result = await nodeB.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await nodeB.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(45, cookie.Length);
        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal("b2", Assert.Single(result.Destinations!).DestinationId);
        Assert.Equal(1, nodeB.Metrics.RoutedByHint);
        Assert.Equal(0, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.StoreUnavailable));
        Assert.True(nodeB.Local.TryGet("backends", cookie[..22], out var destinationId, out _));
        Assert.Equal("b2", destinationId);
    }

    [Theory]
    [InlineData(CookieRejectReason.HintNoMatch)]
    [InlineData(CookieRejectReason.HintMalformed)]
    [InlineData(CookieRejectReason.HintKeyUnknown)]
    public async Task Hint_Invalid_CountedAndTreatedAsAbsent(CookieRejectReason reason)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var ring = await StartRingAsync(time);
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(ring));
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable }, hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);
        switch (reason)
        {
            case CookieRejectReason.HintNoMatch:
                // Another valid hint character in the tag: a forgery attempt that keeps the format.
                cookie = cookie[..30] + (cookie[30] == 'A' ? 'B' : 'A') + cookie[31..];
                break;
            case CookieRejectReason.HintMalformed:
                cookie = cookie[..23] + "not-a-hint";
                break;
            case CookieRejectReason.HintKeyUnknown:
                // The hint's key retires after the overlap intervals that follow its own.
                time.Advance(ring.Options.RotationInterval * (ring.Options.Overlap + 1));
                await ring.RefreshAsync(TestContext.Current.CancellationToken);
                break;
        }

        var result = await nodeB.Policy.FindAffinitizedDestinationsAsync(CreateContext(cookie), _cluster, Config, _destinations, CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, nodeB.Metrics.GetCookiesRejected(reason));
        Assert.Equal(0, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.StoreUnavailable));
        Assert.Equal(0, nodeB.Metrics.RoutedByHint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BadHintWithoutPin_CountedOncePerRequest(bool storeUnavailable)
    {
        await using var ring = await StartRingAsync();
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(ring));
        var lookup = storeUnavailable ? AffinityLookup.Unavailable : AffinityLookup.NotFound;
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = lookup }, hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);
        var forged = cookie[..30] + (cookie[30] == 'A' ? 'B' : 'A') + cookie[31..];

        for (var request = 0; request < 8; request++)
        {
            await nodeB.Policy.FindAffinitizedDestinationsAsync(CreateContext(forged), _cluster, Config, _destinations, CancellationToken.None);
        }

        Assert.Equal(8, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.HintNoMatch));
        Assert.Equal(0, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.Unknown));
        Assert.Equal(0, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.StoreUnavailable));
        Assert.Equal(8, Enum.GetValues<CookieRejectReason>().Sum(reason => nodeB.Metrics.GetCookiesRejected(reason)));
    }

    [Fact]
    public async Task Hint_UnderLocalKey_KeyUnknownElsewhere()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var localRing = await StartRingAsync(time, new UnreachableTicketKeyStorage());
        await using var sharedRing = await StartRingAsync(time);
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(localRing));
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable }, hints: new DestinationHints(sharedRing));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);

        var result = await nodeB.Policy.FindAffinitizedDestinationsAsync(CreateContext(cookie), _cluster, Config, _destinations, CancellationToken.None);

        Assert.True(localRing.Current.Encryption.IsLocal);
        Assert.Equal(localRing.Current.Encryption.Epoch, sharedRing.Current.Encryption.Epoch);
        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.HintKeyUnknown));
    }

    [Fact]
    public async Task Hint_KeysLostAndWrittenBack_StillRoutes()
    {
        var storage = new ClearableTicketKeyStorage();
        await using var ring = await StartRingAsync(storage: storage);
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(ring));
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable }, hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);
        var context = CreateContext(cookie);

        // Redis restarted empty: the next refresh finds no key for the current interval.
        storage.Clear();
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var result = await nodeB.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await nodeB.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal("b2", Assert.Single(result.Destinations!).DestinationId);
        Assert.Equal(1, nodeB.Metrics.RoutedByHint);
        Assert.Equal(0, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.HintNoMatch));
        Assert.Equal(0, context.Response.Headers.SetCookie.Count);
    }

    [Fact]
    public async Task Hint_SameIntervalOtherRing_NoMatchAndRewritten()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var ringA = await StartRingAsync(time);
        await using var ringB = await StartRingAsync(time);
        var nodeA = CreateNode(new ScriptedAffinityStore(), hints: new DestinationHints(ringA));
        var nodeB = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable }, hints: new DestinationHints(ringB));
        var nodeC = CreateNode(new ScriptedAffinityStore { LookupResult = AffinityLookup.Found("b2") }, hints: new DestinationHints(ringB));
        var cookie = await PinNewSessionAsync(nodeA, _destinations[1]);
        var pinned = CreateContext(cookie);

        var rejected = await nodeB.Policy.FindAffinitizedDestinationsAsync(CreateContext(cookie), _cluster, Config, _destinations, CancellationToken.None);
        var routed = await nodeC.Policy.FindAffinitizedDestinationsAsync(pinned, _cluster, Config, _destinations, CancellationToken.None);
        await nodeC.Policy.AffinitizeResponseAsync(pinned, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(ringA.Current.Encryption.Id, ringB.Current.Encryption.Id);
        Assert.Equal(AffinityStatus.AffinityKeyNotSet, rejected.Status);
        Assert.Equal(1, nodeB.Metrics.GetCookiesRejected(CookieRejectReason.HintNoMatch));
        Assert.Equal(AffinityStatus.OK, routed.Status);
        var rewritten = ReadSessionId(Assert.Single(pinned.Response.Headers.SetCookie));
        Assert.Equal(cookie[..22], rewritten[..22]);
        Assert.NotEqual(cookie, rewritten);
    }

    [Fact]
    public async Task CookieWithoutHint_RoutesAndGainsHint()
    {
        await using var ring = await StartRingAsync();
        var node = CreateNode(hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(node, _destinations[1]);
        var context = CreateContext(cookie[..22]);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal(cookie, ReadSessionId(Assert.Single(context.Response.Headers.SetCookie)));
    }

    [Fact]
    public async Task CookieWithCurrentHint_NotRewritten()
    {
        await using var ring = await StartRingAsync();
        var node = CreateNode(hints: new DestinationHints(ring));
        var cookie = await PinNewSessionAsync(node, _destinations[1]);
        var context = CreateContext(cookie);

        await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[1], CancellationToken.None);

        Assert.Equal(0, context.Response.Headers.SetCookie.Count);
    }

    [Fact]
    public async Task SharedStoreUnavailable_TreatedAsAbsentAndCounted()
    {
        var shared = new ScriptedAffinityStore { LookupResult = AffinityLookup.Unavailable };
        var node = CreateNode(shared);

        var result = await node.Policy.FindAffinitizedDestinationsAsync(
            CreateContext(SessionId.Create()), _cluster, Config, _destinations, CancellationToken.None);

        Assert.Equal(AffinityStatus.AffinityKeyNotSet, result.Status);
        Assert.Equal(1, node.Metrics.GetCookiesRejected(CookieRejectReason.StoreUnavailable));
    }

    [Fact]
    public async Task SharedWriteFails_CookieStillSetAndCounted()
    {
        var shared = new ScriptedAffinityStore { WriteResult = AffinityWriteStatus.Unavailable };
        var node = CreateNode(shared);

        var sessionId = await PinNewSessionAsync(node, _destinations[0]);

        Assert.Equal(22, sessionId.Length);
        Assert.Equal(1, node.Metrics.PinsNotShared);
        Assert.True(node.Local.TryGet("backends", sessionId, out _, out _));
    }

    [Fact]
    public async Task PinFromOneNode_RoutesOnAnotherNode()
    {
        var shared = new InProcessAffinityStore(_clock, capacity: 100);
        var nodeA = CreateNode(shared);
        var nodeB = CreateNode(shared);
        var sessionId = await PinNewSessionAsync(nodeA, _destinations[1]);

        var result = await nodeB.Policy.FindAffinitizedDestinationsAsync(
            CreateContext(sessionId), _cluster, Config, _destinations, CancellationToken.None);

        Assert.Equal(AffinityStatus.OK, result.Status);
        Assert.Equal("b2", Assert.Single(result.Destinations!).DestinationId);
    }

    [Fact]
    public async Task PinReadFromSharedStore_IsRewrittenOnce()
    {
        var shared = new ScriptedAffinityStore();
        var nodeA = CreateNode(shared);
        var nodeB = CreateNode(shared);
        var sessionId = await PinNewSessionAsync(nodeA, _destinations[1]);
        shared.LookupResult = AffinityLookup.Found("b2");

        await RouteAsync(nodeB, sessionId, _destinations[1]);
        await RouteAsync(nodeB, sessionId, _destinations[1]);

        // One write from node A's new pin, one from node B because the remaining TTL in Redis is unknown to it.
        Assert.Equal(2, shared.Writes);
        Assert.Equal(1, shared.Lookups);
    }

    [Fact]
    public async Task PinInUse_RewrittenAfterHalfTtl()
    {
        var shared = new ScriptedAffinityStore();
        var node = CreateNode(shared);
        var sessionId = await PinNewSessionAsync(node, _destinations[0]);

        _clock.Advance(TimeToLive / 2 - TimeSpan.FromSeconds(1));
        await RouteAsync(node, sessionId, _destinations[0]);
        var writesBeforeHalf = shared.Writes;
        _clock.Advance(TimeSpan.FromSeconds(2));
        await RouteAsync(node, sessionId, _destinations[0]);

        // The first write pins the session, and the second is the background check of a confirmation older than
        // AffinityPins.SharedCheckInterval. The third is the rewrite after half the TTL.
        Assert.Equal(2, writesBeforeHalf);
        Assert.Equal(3, shared.Writes);
        _clock.Advance(TimeToLive - TimeSpan.FromSeconds(1));
        Assert.True(node.Local.TryGet("backends", sessionId, out _, out _));
    }

    [Fact]
    public async Task ClientGone_NoCookieAndNoPin()
    {
        var node = CreateNode();
        var context = CreateContext(cookie: null);

        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, _destinations[0], new CancellationToken(canceled: true));

        Assert.Equal(0, context.Response.Headers.SetCookie.Count);
        Assert.Equal(0, node.Local.Count);
    }

    private async Task RouteAsync(TestNode node, string sessionId, DestinationState destination)
    {
        var context = CreateContext(sessionId);
        var result = await node.Policy.FindAffinitizedDestinationsAsync(context, _cluster, Config, _destinations, CancellationToken.None);
        Assert.Equal(AffinityStatus.OK, result.Status);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, destination, CancellationToken.None);
    }

    private async Task<string> PinNewSessionAsync(TestNode node, DestinationState destination)
    {
        var context = CreateContext(cookie: null);
        await node.Policy.AffinitizeResponseAsync(context, _cluster, Config, destination, CancellationToken.None);
        return ReadSessionId(Assert.Single(context.Response.Headers.SetCookie));
    }

    private TestNode CreateNode(
        IAffinityStore? shared = null,
        DestinationHints? hints = null,
        UnhealthyPinPolicy policy = UnhealthyPinPolicy.Repin)
    {
        var local = new InProcessAffinityStore(_clock, capacity: 1000);
        var metrics = new AffinityMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        var pins = new AffinityPins(local, shared ?? local, TimeToLive, _clock);
        var affinityPolicy = new ClusterCookieAffinityPolicy(
            pins, metrics, _clock, NullLoggerFactory.Instance, hints, new ClusterCookieOptions(policy));
        return new TestNode(affinityPolicy, local, metrics);
    }

    /// <summary>A ticket key ring in memory, standing for the ring that every node shares through Redis.</summary>
    private static async Task<TicketKeyRing> StartRingAsync(TimeProvider? time = null, ITicketKeyStorage? storage = null)
    {
        var options = new TicketKeyOptions { RotationInterval = TimeSpan.FromHours(1), Overlap = 1 };
        var ring = new TicketKeyRing(storage ?? new InProcessTicketKeyStorage(), options, time ?? TimeProvider.System, NullLogger.Instance);
        await ring.StartAsync(TestContext.Current.CancellationToken);
        return ring;
    }

    private static DefaultHttpContext CreateContext(string? cookie)
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "https";
        if (cookie is not null)
        {
            context.Request.Headers.Cookie = $"{CookieName}={cookie}";
        }

        return context;
    }

    private static string ReadSessionId(string? setCookie)
    {
        Assert.NotNull(setCookie);
        Assert.StartsWith(CookieName + "=", setCookie, StringComparison.Ordinal);
        return setCookie[(CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private sealed record TestNode(ClusterCookieAffinityPolicy Policy, InProcessAffinityStore Local, AffinityMetrics Metrics);

    /// <summary>Ticket key storage that never replies, as Redis while it is down, so the ring makes a local key.</summary>
    private sealed class UnreachableTicketKeyStorage : ITicketKeyStorage
    {
        public string Name => "unreachable";

        public ValueTask<byte[]?> GetOrAddAsync(long epoch, byte[] candidate, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            ValueTask.FromResult<byte[]?>(null);

        public ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(IReadOnlyList<long> epochs, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<long, byte[]>?>(null);
    }

    /// <summary>Ticket key storage in memory that a test can empty, as a Redis restart without persistence does.</summary>
    private sealed class ClearableTicketKeyStorage : ITicketKeyStorage
    {
        private readonly Dictionary<long, byte[]> _keys = [];

        public string Name => "clearable";

        public void Clear() => _keys.Clear();

        public ValueTask<byte[]?> GetOrAddAsync(long epoch, byte[] candidate, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            ValueTask.FromResult<byte[]?>(_keys.TryAdd(epoch, candidate) ? candidate : _keys[epoch]);

        public ValueTask<IReadOnlyDictionary<long, byte[]>?> GetAsync(IReadOnlyList<long> epochs, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<long, byte[]>?>(
                epochs.Where(_keys.ContainsKey).ToDictionary(epoch => epoch, epoch => _keys[epoch]));
    }

    /// <summary>A shared store whose results the test sets, counting the calls.</summary>
    private sealed class ScriptedAffinityStore : IAffinityStore
    {
        public AffinityLookup LookupResult { get; set; } = AffinityLookup.NotFound;

        public AffinityWriteStatus WriteResult { get; set; } = AffinityWriteStatus.Stored;

        public int Lookups { get; private set; }

        public int Writes { get; private set; }

        public string Name => "scripted";

        public ValueTask<AffinityLookup> GetAsync(string clusterId, string sessionId, CancellationToken cancellationToken)
        {
            Lookups++;
            return ValueTask.FromResult(LookupResult);
        }

        public ValueTask<AffinityWriteStatus> SetAsync(
            string clusterId,
            string sessionId,
            string destinationId,
            TimeSpan timeToLive,
            CancellationToken cancellationToken)
        {
            Writes++;
            return ValueTask.FromResult(WriteResult);
        }
    }
}
