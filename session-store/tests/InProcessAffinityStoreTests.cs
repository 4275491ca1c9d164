using Microsoft.Extensions.Time.Testing;

namespace Tandem.SessionStore.Tests;

public sealed class InProcessAffinityStoreTests
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task SetThenGet_ReturnsDestination()
    {
        var store = new InProcessAffinityStore(new FakeTimeProvider(), capacity: 100);

        await store.SetAsync("backends", "s1", "b1", TimeToLive, CancellationToken.None);
        var lookup = await store.GetAsync("backends", "s1", CancellationToken.None);

        Assert.Equal(AffinityLookupStatus.Found, lookup.Status);
        Assert.Equal("b1", lookup.DestinationId);
    }

    [Fact]
    public void MarkShared_SamePin_RecordsTime()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 100);
        store.Set("backends", "s1", "b1", TimeToLive);
        Assert.True(store.TryGet("backends", "s1", out _, out _, out var beforeMark));

        store.MarkShared("backends", "s1", "b1", clock.GetUtcNow());

        Assert.True(store.TryGet("backends", "s1", out var destinationId, out _, out var afterMark));
        Assert.Null(beforeMark);
        Assert.Equal(clock.GetUtcNow(), afterMark);
        Assert.Equal("b1", destinationId);
    }

    [Fact]
    public void MarkShared_ReplacedPin_LeavesNewPinUnshared()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 100);
        store.Set("backends", "s1", "b1", TimeToLive);
        store.Set("backends", "s1", "b2", TimeToLive);

        store.MarkShared("backends", "s1", "b1", clock.GetUtcNow());

        Assert.True(store.TryGet("backends", "s1", out _, out _, out var sharedAt));
        Assert.Null(sharedAt);
    }

    [Fact]
    public void Set_AfterMarkShared_ClearsSharedTime()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 100);
        store.Set("backends", "s1", "b1", TimeToLive);
        store.MarkShared("backends", "s1", "b1", clock.GetUtcNow());

        store.Set("backends", "s1", "b1", TimeToLive);

        Assert.True(store.TryGet("backends", "s1", out _, out _, out var sharedAt));
        Assert.Null(sharedAt);
    }

    [Fact]
    public async Task Get_UnknownSession_ReturnsNotFound()
    {
        var store = new InProcessAffinityStore(new FakeTimeProvider(), capacity: 100);
        await store.SetAsync("backends", "s1", "b1", TimeToLive, CancellationToken.None);

        Assert.Equal(AffinityLookupStatus.NotFound, (await store.GetAsync("backends", "s2", CancellationToken.None)).Status);
        Assert.Equal(AffinityLookupStatus.NotFound, (await store.GetAsync("other", "s1", CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Get_AfterTimeToLive_ReturnsNotFound()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 100);
        await store.SetAsync("backends", "s1", "b1", TimeToLive, CancellationToken.None);

        clock.Advance(TimeToLive - TimeSpan.FromSeconds(1));
        var beforeExpiry = await store.GetAsync("backends", "s1", CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var atExpiry = await store.GetAsync("backends", "s1", CancellationToken.None);

        Assert.Equal(AffinityLookupStatus.Found, beforeExpiry.Status);
        Assert.Equal(AffinityLookupStatus.NotFound, atExpiry.Status);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Set_Again_ExtendsExpiry()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 100);
        store.Set("backends", "s1", "b1", TimeToLive);

        clock.Advance(TimeSpan.FromMinutes(6));
        store.Set("backends", "s1", "b1", TimeToLive);
        clock.Advance(TimeSpan.FromMinutes(6));

        Assert.True(store.TryGet("backends", "s1", out var destinationId, out var expiresAt));
        Assert.Equal("b1", destinationId);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(4), expiresAt);
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void Set_AtCapacity_DropsExpiredEntriesFirst()
    {
        var clock = new FakeTimeProvider();
        var store = new InProcessAffinityStore(clock, capacity: 10);
        for (var i = 0; i < 5; i++)
        {
            store.Set("backends", $"old{i}", "b1", TimeSpan.FromMinutes(1));
        }

        clock.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 5; i++)
        {
            store.Set("backends", $"new{i}", "b2", TimeToLive);
        }

        Assert.Equal(5, store.Count);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(store.TryGet("backends", $"new{i}", out _, out _));
        }
    }

    [Fact]
    public void Set_ManyLivePins_StaysBelowCapacity()
    {
        var store = new InProcessAffinityStore(new FakeTimeProvider(), capacity: 50);

        for (var i = 0; i < 1000; i++)
        {
            store.Set("backends", $"s{i}", "b1", TimeToLive);
        }

        Assert.InRange(store.Count, 1, 50);
        Assert.True(store.TryGet("backends", "s999", out _, out _));
    }

    [Fact]
    public async Task Get_CancelledByCaller_Throws()
    {
        var store = new InProcessAffinityStore(new FakeTimeProvider(), capacity: 100);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await store.GetAsync("backends", "s1", new CancellationToken(canceled: true)));
    }
}
