using Microsoft.Extensions.Configuration;

namespace Tandem.Node.Hosting;

/// <summary>
/// The configuration sources of the node, lowest precedence first: built-in defaults, the JSON file given by
/// <c>--config</c>, environment variables (<c>Section__Key</c>), then <c>--Section:Key=value</c> arguments.
/// </summary>
internal static class NodeConfigurationSources
{
    /// <summary>Logging defaults, each of which the configuration file's <c>Logging</c> section overrides.</summary>
    public static IReadOnlyDictionary<string, string?> Defaults { get; } = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",

        // YARP logs every proxied request at Information. Its other categories, such as health, keep Information.
        ["Logging:LogLevel:Yarp.ReverseProxy.Forwarder"] = "Warning",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
    };

    public static void Add(IConfigurationBuilder builder, string configPath, IReadOnlyList<string> overrides)
    {
        builder.AddInMemoryCollection(Defaults);
        builder.AddJsonFile(Path.GetFullPath(configPath), optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables();
        builder.AddCommandLine(overrides.ToArray());
    }
}
