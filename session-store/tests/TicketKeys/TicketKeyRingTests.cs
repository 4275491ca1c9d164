using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.SessionStore.Tests.TicketKeys;

public sealed class TicketKeyRingTests
{
    private static readonly TicketKeyOptions Options = new()
    {
        RotationInterval = TimeSpan.FromHours(12),
        Overlap = 2,
    };

    [Fact]
    public async Task Refresh_CreatesCurrentIntervalKey()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var ring = new TicketKeyRing(new InProcessTicketKeyStorage(), Options, time, new FakeLogger());

        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var set = ring.Current;

        Assert.False(set.IsDegraded);
        Assert.False(set.Encryption.IsLocal);
        Assert.Equal(ring.GetEpoch(time.GetUtcNow()), set.Encryption.Epoch);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero), set.Encryption.ValidFrom);
        Assert.Single(set.Decryption);
    }

    [Fact]
    public async Task Current_BeforeFirstRefresh_IsLocalAndDegraded()
    {
        await using var ring = new TicketKeyRing(new InProcessTicketKeyStorage(), Options, new FakeTimeProvider(), new FakeLogger());

        var set = ring.Current;

        Assert.True(set.IsDegraded);
        Assert.True(set.Encryption.IsLocal);
        Assert.Same(set, ring.Current);
    }

    [Fact]
    public async Task Rotation_NewKeyEncryptsAndOldOneDecrypts()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var ring = new TicketKeyRing(new InProcessTicketKeyStorage(), Options, time, new FakeLogger());
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var first = ring.Current.Encryption;

        time.Advance(Options.RotationInterval);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var set = ring.Current;

        Assert.Equal(first.Epoch + 1, set.Encryption.Epoch);
        Assert.False(set.Encryption.Name.SequenceEqual(first.Name));
        Assert.Same(set.Encryption, set.Find(set.Encryption.Name));
        Assert.NotNull(set.Find(first.Name));
    }

    [Fact]
    public async Task Rotation_KeyRetiresAfterOverlap()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero));
        await using var ring = new TicketKeyRing(new InProcessTicketKeyStorage(), Options, time, new FakeLogger());
        await ring.RefreshAsync(TestContext.Current.CancellationToken);
        var first = ring.Current.Encryption;

        for (var i = 1; i <= Options.Overlap; i++)
        {
            time.Advance(Options.RotationInterval);
            await ring.RefreshAsync(TestContext.Current.CancellationToken);
            Assert.NotNull(ring.Current.Find(first.Name));
        }

        time.Advance(Options.RotationInterval);
        await ring.RefreshAsync(TestContext.Current.CancellationToken);

        Assert.Null(ring.Current.Find(first.Name));
        Assert.Equal(Options.Overlap + 1, ring.Current.Decryption.Count);
    }

    [Fact]
    public async Task Timer_RotatesAtIntervalBoundary()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 11, 59, 0, TimeSpan.Zero));
        await using var ring = new TicketKeyRing(new InProcessTicketKeyStorage(), Options, time, new FakeLogger());
        await ring.StartAsync(TestContext.Current.CancellationToken);
        var first = ring.Current.Encryption;

        // The in-process storage completes at once, so the refresh runs inside Advance.
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(first.Epoch + 1, ring.Current.Encryption.Epoch);
    }

    [Fact]
    public void TicketKey_ToString_ShowsOnlyId()
    {
        var material = new byte[TicketKey.MaterialLength];
        material.AsSpan().Fill(0xAB);
        var key = new TicketKey(42, material, DateTimeOffset.UnixEpoch, isLocal: false);

        Assert.Equal("42", key.ToString());
        Assert.DoesNotContain("AB", key.ToString(), StringComparison.OrdinalIgnoreCase);
    }
}
