using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.Node.Logging;
using Tandem.Vrrp;

namespace Tandem.Node.Hosting;

/// <summary>The <c>run</c> and <c>release</c> commands, with their exit codes.</summary>
internal static partial class NodeCommands
{
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var commandLine = NodeCommandLine.Parse(args);
        switch (commandLine.Kind)
        {
            case NodeCommandKind.Help:
                await output.WriteLineAsync(NodeCommandLine.Usage);
                return ExitCodes.Success;
            case NodeCommandKind.Invalid:
                await error.WriteLineAsync($"tandem-node: {commandLine.Error}");
                await error.WriteLineAsync(NodeCommandLine.Usage);
                return ExitCodes.Usage;
            case NodeCommandKind.Run:
                return await RunNodeAsync(commandLine, error);
            case NodeCommandKind.Release:
                return await ReleaseAsync(commandLine, error);
            default:
                throw new NotSupportedException($"Command '{commandLine.Kind}' is not supported.");
        }
    }

    private static async Task<int> RunNodeAsync(NodeCommandLine commandLine, TextWriter error)
    {
        WebApplication app;
        try
        {
            app = await NodeApplication.CreateAsync(
                configuration => NodeConfigurationSources.Add(configuration, commandLine.ConfigPath, commandLine.Overrides));
        }
        catch (InvalidNodeConfigurationException exception)
        {
            await WriteConfigurationErrorsAsync(error, commandLine.ConfigPath, exception.Errors, exception.Warnings);
            return ExitCodes.InvalidConfiguration;
        }
        catch (Exception exception) when (IsConfigurationFileError(exception))
        {
            await WriteConfigurationFileErrorAsync(error, commandLine.ConfigPath, exception);
            return ExitCodes.InvalidConfiguration;
        }

        await using (app)
        {
            try
            {
                var settings = app.Services.GetRequiredService<NodeSettings>();
                await ListenerStart.StartAsync(app, exception => DescribeProxyBindFailure(settings, exception), CancellationToken.None);
                await app.WaitForShutdownAsync();
                return ExitCodes.Success;
            }
            catch (ListenerBindException exception)
            {
                // The message names the settings and the fix, so a stack trace would add nothing for the operator.
                await error.WriteLineAsync($"tandem-node: {exception.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception exception)
            {
                // For example the port is in use or VRRP cannot open its socket. The host has stopped by now.
                Log.NodeStartFailed(app.Logger, exception);
                return ExitCodes.Failure;
            }
        }
    }

    private static string DescribeProxyBindFailure(NodeSettings settings, IOException exception) =>
        $"Proxy:Address, Proxy:Port: the proxy listener cannot listen on {settings.ListenAddress} port " +
        $"{settings.Proxy.Port} ({exception.Message}). Stop the other process on that port (ss -ltnp shows it) or set " +
        "Proxy:Port to a free port. For a port below 1024 the process needs CAP_NET_BIND_SERVICE.";

    private static async Task<int> ReleaseAsync(NodeCommandLine commandLine, TextWriter error)
    {
        IConfigurationRoot configuration;
        try
        {
            var builder = new ConfigurationBuilder();
            NodeConfigurationSources.Add(builder, commandLine.ConfigPath, commandLine.Overrides);
            configuration = builder.Build();
        }
        catch (Exception exception) when (IsConfigurationFileError(exception))
        {
            await WriteConfigurationFileErrorAsync(error, commandLine.ConfigPath, exception);
            return ExitCodes.InvalidConfiguration;
        }

        var errors = new List<string>();
        NodeConfigurationSources.CheckTopLevelSections(configuration, errors);
        var vrrp = NodeSettingsLoader.LoadVrrp(configuration, errors);
        if (errors.Count > 0)
        {
            await WriteConfigurationErrorsAsync(error, commandLine.ConfigPath, errors, []);
            return ExitCodes.InvalidConfiguration;
        }

        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddConfiguration(configuration.GetSection("Logging"))
            .AddConsole());
        var logger = loggerFactory.CreateLogger("Tandem.Node.Vrrp");

        if (vrrp is null)
        {
            Log.NothingToRelease(logger);
            return ExitCodes.Success;
        }

        // Every router is released even when one fails, so that as few addresses as possible stay behind.
        using var timeout = new CancellationTokenSource(ReleaseTimeout);
        var exitCode = ExitCodes.Success;
        foreach (var router in vrrp.Routers)
        {
            var options = router.Options;
            Log.Releasing(logger, options.Interface, string.Join(", ", options.VirtualAddresses));
            try
            {
                await VrrpSpeaker.ReleaseAddressesAsync(options, logger, timeout.Token);
            }
            catch (Exception exception)
            {
                Log.ReleaseFailed(logger, options.Interface, exception);
                exitCode = ExitCodes.Failure;
                continue;
            }

            Log.Released(logger, options.Interface);
        }

        return exitCode;
    }

    private static bool IsConfigurationFileError(Exception exception) => ConfigurationFileError.IsFileError(exception);

    private static async Task WriteConfigurationFileErrorAsync(TextWriter error, string configPath, Exception exception) =>
        await error.WriteLineAsync($"tandem-node: {ConfigurationFileError.Describe(configPath, exception)}");

    private static async Task WriteConfigurationErrorsAsync(
        TextWriter error,
        string configPath,
        IReadOnlyList<string> errors,
        IReadOnlyList<string> warnings)
    {
        await error.WriteLineAsync(
            $"tandem-node: the configuration from '{configPath}', the environment and the command line has " +
            $"{errors.Count} error(s), so the node did not start:");
        foreach (var message in errors)
        {
            await error.WriteLineAsync($"  error: {message}");
        }

        foreach (var message in warnings)
        {
            await error.WriteLineAsync($"  warning: {message}");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.NodeStartFailed, LogLevel.Critical, "The node stopped because of an error")]
        public static partial void NodeStartFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.VrrpReleasing, LogLevel.Information,
            "Releasing virtual addresses {VirtualAddresses} on {Interface}")]
        public static partial void Releasing(ILogger logger, string @interface, string virtualAddresses);

        [LoggerMessage(EventIds.VrrpReleased, LogLevel.Information,
            "Released the virtual addresses on {Interface}: none of them is on it now")]
        public static partial void Released(ILogger logger, string @interface);

        [LoggerMessage(EventIds.VrrpNothingToRelease, LogLevel.Information,
            "VRRP is off because Vrrp:Interface is empty, so there are no virtual addresses to remove")]
        public static partial void NothingToRelease(ILogger logger);

        [LoggerMessage(EventIds.VrrpReleaseFailed, LogLevel.Error,
            "Failed to remove the virtual addresses from {Interface}. Remove them with 'ip address del', " +
            "because while this machine still has them it answers for them next to the new master")]
        public static partial void ReleaseFailed(ILogger logger, string @interface, Exception exception);
    }
}
