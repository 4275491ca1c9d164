using Microsoft.Extensions.Configuration;
using Tandem.Node.Control;

namespace Tandem.Node.Tests.Control;

// File modes are a Unix feature, and the node runs on Linux only.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlTokenTests : IDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-token-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string WriteTokenFile(string contents, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_directory, "control.token");
        File.WriteAllText(path, contents);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private static ControlToken? Load(string? path, List<string> errors) =>
        ControlToken.Load(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [ControlToken.SettingName] = path }).Build(),
            errors);

    [Fact]
    public void Load_Empty_ReturnsNullWithoutError()
    {
        var errors = new List<string>();

        Assert.Null(Load("", errors));
        Assert.Empty(errors);
    }

    [Fact]
    public void Load_ValidFile_MatchesOnlyItsToken()
    {
        var errors = new List<string>();

        var token = Load(WriteTokenFile(Token + "\n"), errors);

        Assert.Empty(errors);
        Assert.NotNull(token);
        Assert.True(token.Matches(Token));
        Assert.False(token.Matches(Token[..^1]));
        Assert.False(token.Matches(Token + "0"));
        Assert.False(token.Matches(""));
    }

    [Fact]
    public void Load_ReadableByOthers_Rejected()
    {
        var errors = new List<string>();
        var path = WriteTokenFile(Token, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        Assert.Null(Load(path, errors));

        var error = Assert.Single(errors);
        Assert.Contains("Management:ControlTokenFile", error, StringComparison.Ordinal);
        Assert.Contains("mode 644", error, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {path}", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesSettingAndFix()
    {
        var errors = new List<string>();
        var path = Path.Combine(_directory, "absent.token");

        Assert.Null(Load(path, errors));

        var error = Assert.Single(errors);
        Assert.Contains($"'{path}' does not exist", error, StringComparison.Ordinal);
        Assert.Contains("openssl rand -hex 32", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RelativePath_Rejected()
    {
        var errors = new List<string>();

        Assert.Null(Load("control.token", errors));

        Assert.Contains("is not an absolute path", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("0123456789abcdef\n0123456789abcdef")]
    public void Load_BadLength_Rejected(string contents)
    {
        var errors = new List<string>();

        Assert.Null(Load(WriteTokenFile(contents), errors));

        Assert.Contains($"at least {ControlToken.MinLength} characters", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SpaceInToken_Rejected()
    {
        var errors = new List<string>();

        Assert.Null(Load(WriteTokenFile("0123456789 abcdef0123"), errors));

        Assert.Contains("printable ASCII", Assert.Single(errors), StringComparison.Ordinal);
    }
}
