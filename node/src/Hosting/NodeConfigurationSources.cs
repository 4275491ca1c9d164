using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.Json;

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

        // The host logs a failed start at Error with the stack trace, but the node reports it already: a listener
        // that cannot bind as one line on stderr, any other failure as event 1005 (NodeStartFailed). A faulted background service
        // still reaches the log, because the host also logs it at Critical before it stops.
        ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",

        // YARP logs every proxied request at Information. Its other categories, such as health, keep Information.
        ["Logging:LogLevel:Yarp.ReverseProxy.Forwarder"] = "Warning",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
    };

    /// <summary>
    /// Top-level sections that the node reads. <c>AllowedHosts</c> is ASP.NET Core's host filtering, which the
    /// node's web host applies to the proxy listener.
    /// </summary>
    public static IReadOnlyList<string> KnownSections { get; } =
        ["AllowedHosts", "Logging", "Management", "Node", "Proxy", "ReverseProxy", "SessionStore", "Vrrp"];

    public static void Add(IConfigurationBuilder builder, string configPath, IReadOnlyList<string> overrides)
    {
        builder.AddInMemoryCollection(Defaults);
        builder.AddJsonFile(Path.GetFullPath(configPath), optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables();
        builder.AddCommandLine(overrides.ToArray());
    }

    /// <summary>
    /// Adds an error for each top-level section of the JSON file or the command line that the node does not read, so
    /// that a misspelled section such as <c>Vrpp</c> does not silently leave its defaults in place. Environment
    /// variables are not checked, because the environment also carries variables meant for other programs.
    /// </summary>
    public static void CheckTopLevelSections(IConfigurationRoot configuration, List<string> errors)
    {
        var keys = configuration.Providers
            .Where(provider => provider is JsonConfigurationProvider or CommandLineConfigurationProvider)
            .SelectMany(provider => provider.GetChildKeys([], parentPath: null))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Where(key => !KnownSections.Contains(key, StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);

        foreach (var key in keys)
        {
            if (key.Equals("Kestrel", StringComparison.OrdinalIgnoreCase))
            {
                // ASP.NET Core would open the endpoints of a Kestrel section next to the proxy listener, without the
                // node's certificate checks, so the node refuses it.
                errors.Add(
                    $"{key} is not supported, because the node sets up its listeners itself. Remove the section and " +
                    "set the proxy listener with Proxy:Address, Proxy:Port, Proxy:CertificatePath and Proxy:KeyPath.");
                continue;
            }

            errors.Add(
                $"{key} is not a section that the node reads. Check the spelling. The sections are " +
                $"{string.Join(", ", KnownSections)}.");
        }
    }
}
