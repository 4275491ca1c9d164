using Tandem.Node.SessionAffinity;

namespace Tandem.Node.Tests.SessionAffinity;

public sealed class SessionIdTests
{
    [Fact]
    public void Create_ReturnsWellFormedUrlSafeIds()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => SessionId.Create()).ToList();

        Assert.All(ids, id => Assert.Equal(SessionId.TextLength, id.Length));
        Assert.All(ids, id => Assert.True(SessionId.IsWellFormed(id)));
        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9_-]+$", id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAA/")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA A")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB")]
    public void IsWellFormed_OtherValues_AreRejected(string value)
    {
        Assert.False(SessionId.IsWellFormed(value));
    }

    [Fact]
    public void Redact_KeepsOnlyPrefix()
    {
        var id = SessionId.Create();

        var redacted = SessionId.Redact(id);

        Assert.Equal(id[..6] + "…", redacted);
    }
}
