using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Tandem.Node.Control;

/// <summary>
/// The bearer token of the NodeControl service, read once at startup from <c>Management:ControlTokenFile</c>. Only
/// its SHA-256 hash is kept, so the token itself never sits in a settings object that could be logged.
/// </summary>
internal sealed class ControlToken
{
    public const string SettingName = "Management:ControlTokenFile";

    /// <summary>Shortest token accepted: 16 characters, which is 96 bits as base64 and 64 as hex.</summary>
    public const int MinLength = 16;

    /// <summary>Permission bits that let anyone but the owner read or change the file.</summary>
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _hash;

    private ControlToken(string path, byte[] hash)
    {
        FilePath = path;
        _hash = hash;
    }

    /// <summary>The token file, for log messages.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Reads the token file named by <c>Management:ControlTokenFile</c>, adding every problem to
    /// <paramref name="errors"/>. Returns null when the setting is empty (control calls off) or on errors.
    /// </summary>
    public static ControlToken? Load(IConfiguration configuration, List<string> errors)
    {
        var path = configuration[SettingName]?.Trim();
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        if (!Path.IsPathFullyQualified(path))
        {
            errors.Add($"{SettingName}: '{path}' is not an absolute path. Write the full path, for example /etc/tandem/control.token.");
            return null;
        }

        string text;
        try
        {
            // The mode is checked before the contents are read, so a token that others can read is never used.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) is var open && open != 0)
            {
                errors.Add(
                    $"{SettingName}: '{path}' has mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}, so other users " +
                    $"can read or change the token. Run 'chmod 600 {path}' and make the node's user its owner.");
                return null;
            }

            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            errors.Add($"{SettingName}: '{path}' does not exist. Create it with one line, for example 'openssl rand -hex 32 > {path}', then 'chmod 600 {path}'.");
            return null;
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            errors.Add($"{SettingName}: '{path}' could not be read ({exception.Message}). Make the node's user the owner of the file.");
            return null;
        }

        // A trailing newline from echo or an editor is not part of the token.
        var token = text.Trim();
        if (token.Length < MinLength || token.Contains('\n', StringComparison.Ordinal))
        {
            errors.Add(
                $"{SettingName}: '{path}' must contain one line of at least {MinLength} characters, and it contains " +
                $"{(token.Length == 0 ? "nothing" : $"{token.Length} characters on {token.Split('\n').Length} lines")}. " +
                $"Write a new token, for example with 'openssl rand -hex 32 > {path}'.");
            return null;
        }

        if (token.Any(c => c is < '!' or > '~'))
        {
            // gRPC metadata values must be printable ASCII, so a client could not send any other token.
            errors.Add(
                $"{SettingName}: '{path}' contains a space, a control character or a character outside ASCII. " +
                $"Write a token of printable ASCII only, for example with 'openssl rand -hex 32 > {path}'.");
            return null;
        }

        return new ControlToken(path, SHA256.HashData(Encoding.ASCII.GetBytes(token)));
    }

    /// <summary>Creates a token from its text, for tests.</summary>
    internal static ControlToken FromText(string token) => new("(test)", SHA256.HashData(Encoding.ASCII.GetBytes(token)));

    /// <summary>
    /// Compares <paramref name="presented"/> with the token in constant time. Comparing hashes keeps the time
    /// independent of the length of either string as well as of their contents.
    /// </summary>
    public bool Matches(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }
}
