using System.Text.Json;

namespace Tandem.Node.Hosting;

/// <summary>Words the error message for a configuration file that cannot be read, with the fix for each cause.</summary>
internal static class ConfigurationFileError
{
    public static bool IsFileError(Exception exception) =>
        exception is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException
            or UnauthorizedAccessException;

    /// <summary>
    /// Describes <paramref name="exception"/> for the file that <c>--config</c> named as <paramref name="configPath"/>.
    /// Both the path as given and the absolute path are shown, because a relative path is resolved from the current
    /// directory, which a service manager may set differently from a shell.
    /// </summary>
    public static string Describe(string configPath, Exception exception)
    {
        var fullPath = Path.GetFullPath(configPath);
        var file = configPath == fullPath ? $"'{configPath}'" : $"'{configPath}' (resolved to '{fullPath}')";

        if (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"the configuration file {file} was not found. Check the path given with --config. A relative path " +
                $"is resolved from the current directory, '{Environment.CurrentDirectory}'.";
        }

        if (exception is UnauthorizedAccessException)
        {
            return $"the configuration file {file} cannot be read: permission denied. Give the user that runs the node " +
                "read access to the file.";
        }

        if (FindInner<JsonException>(exception) is { LineNumber: { } lineIndex, BytePositionInLine: { } byteIndex })
        {
            // System.Text.Json counts lines and bytes from 0, but editors count both from 1.
            return $"the configuration file {file} is not valid JSON: line {lineIndex + 1}, position {byteIndex + 1}. " +
                "Correct the syntax there, or just before it, for example a missing comma between two settings, " +
                "a missing quote or an unclosed brace.";
        }

        // For example a key that appears twice in the same object.
        var detail = string.Join(" ", Chain(exception).Select(inner => inner.Message));
        return $"the configuration file {file} is invalid: {detail} Correct the file so that it is a JSON object " +
            "with each key once per object.";
    }

    private static T? FindInner<T>(Exception exception)
        where T : Exception =>
        Chain(exception).OfType<T>().FirstOrDefault();

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
