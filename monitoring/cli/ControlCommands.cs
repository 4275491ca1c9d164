using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli;

/// <summary>The tandemctl commands that change a node: <c>switchover</c> and <c>maintenance on|off</c>.</summary>
internal sealed class ControlCommands(Func<NodeEndpoint, NodeControl.NodeControlClient> createClient, TextWriter output, TextWriter error)
{
    /// <summary>The token file that the node's packaging suggests for Management:ControlTokenFile.</summary>
    public const string DefaultTokenFile = "/etc/tandem/control.token";

    /// <summary>
    /// Default wait for the node's response. A switchover takes up to Master_Down_Interval (about 3.5 s at the
    /// default 1 s advert interval) plus up to 2 s for requests in flight, so 15 s leaves room for a slow network.
    /// </summary>
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public IEnumerable<Command> Create()
    {
        var nodeOption = new Option<string>("--node", "-n")
        {
            Description = $"Management listener of the node as HOST:PORT. Default: {NodeEndpoint.Default}.",
            DefaultValueFactory = _ => NodeEndpoint.Default,
        };
        var tokenFileOption = new Option<string>("--token-file")
        {
            Description = $"File with the node's control token, the file that Management:ControlTokenFile names. Default: {DefaultTokenFile}.",
            DefaultValueFactory = _ => DefaultTokenFile,
        };
        var timeoutOption = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for the node's response.",
            DefaultValueFactory = _ => DefaultTimeout.TotalSeconds,
        };

        var routerOption = new Option<string>("--router", "-r")
        {
            Description = "Name of one virtual router of the node, as the VRID column of 'tandemctl status' shows it. Default: every router of the node.",
            DefaultValueFactory = _ => "",
        };

        var switchover = new Command(
            "switchover",
            "Make the master hand over to a backup: it drains its proxy connections, sends a priority-0 advert and " +
            "returns once the new master advertises. Run it against the master. Without --router it hands over every " +
            "router the node is master of.")
        {
            nodeOption, tokenFileOption, timeoutOption, routerOption,
        };
        switchover.SetAction((result, token) => SwitchoverAsync(
            result.GetValue(nodeOption)!, result.GetValue(tokenFileOption)!, result.GetValue(timeoutOption), result.GetValue(routerOption)!, token));

        var modeArgument = new Argument<string>("mode") { Description = "on to enter maintenance, off to leave it." };
        modeArgument.AcceptOnlyFromAmong("on", "off");
        var maintenance = new Command(
            "maintenance",
            "Enter or leave maintenance mode. A node in maintenance never becomes master; on the master, 'on' hands " +
            "over first. Without --router it acts on every router of the node.")
        {
            modeArgument, nodeOption, tokenFileOption, timeoutOption, routerOption,
        };
        maintenance.SetAction((result, token) => SetMaintenanceAsync(
            result.GetValue(modeArgument) == "on",
            result.GetValue(nodeOption)!, result.GetValue(tokenFileOption)!, result.GetValue(timeoutOption), result.GetValue(routerOption)!, token));

        return [switchover, maintenance];
    }

    private async Task<int> SwitchoverAsync(string node, string tokenFile, double timeoutSeconds, string router, CancellationToken cancellationToken)
    {
        if (await PrepareAsync(node, tokenFile, timeoutSeconds) is not var (endpoint, headers, timeout))
        {
            return ExitCodes.Usage;
        }

        return await CallAsync(endpoint, async () =>
        {
            var response = await createClient(endpoint).SwitchoverAsync(
                new SwitchoverRequest { Router = router }, headers, DateTime.UtcNow + timeout, cancellationToken);
            await output.WriteLineAsync(FormatSwitchover(endpoint, response));
        });
    }

    private async Task<int> SetMaintenanceAsync(bool enabled, string node, string tokenFile, double timeoutSeconds, string router, CancellationToken cancellationToken)
    {
        if (await PrepareAsync(node, tokenFile, timeoutSeconds) is not var (endpoint, headers, timeout))
        {
            return ExitCodes.Usage;
        }

        return await CallAsync(endpoint, async () =>
        {
            var response = await createClient(endpoint).SetMaintenanceAsync(
                new SetMaintenanceRequest { Enabled = enabled, Router = router }, headers, DateTime.UtcNow + timeout, cancellationToken);
            await output.WriteLineAsync(FormatMaintenance(endpoint, enabled, response));
        });
    }

    internal static string FormatSwitchover(NodeEndpoint endpoint, SwitchoverResponse response) => string.Create(
        CultureInfo.InvariantCulture,
        $"{endpoint}: handed over{FormatRouters(response.Routers)} to {response.NewMaster} in {response.Elapsed.ToTimeSpan().TotalMilliseconds:0} ms; " +
        $"{response.ConnectionsDrained} proxy connections were drained");

    /// <summary>Returns " router web" or " routers web, api", or nothing for the single router of older nodes and of the Vrrp section.</summary>
    private static string FormatRouters(IReadOnlyList<string> routers)
    {
        var named = routers.Where(name => name is not ("" or "default")).ToList();
        return named.Count switch
        {
            0 => "",
            1 => $" router {named[0]}",
            _ => $" routers {string.Join(", ", named)}",
        };
    }

    internal static string FormatMaintenance(NodeEndpoint endpoint, bool enabled, SetMaintenanceResponse response)
    {
        var state = StateName(response.State);
        var routers = FormatRouters(response.Routers);
        if (!response.Changed)
        {
            return $"{endpoint}: already {(enabled ? "in" : "out of")} maintenance; state {state}";
        }

        if (!enabled)
        {
            return $"{endpoint}:{routers} left maintenance; state {state}, it may become master again";
        }

        return response.HandedOver
            ? $"{endpoint}: handed over{routers} to {response.NewMaster} and entered maintenance; state {state}"
            : $"{endpoint}:{routers} entered maintenance; state {state}, it will not become master until 'maintenance off'";
    }

    private static string StateName(VrrpState state) => state switch
    {
        VrrpState.Master => "master",
        VrrpState.Backup => "backup",
        VrrpState.Initialize => "initialize",
        _ => "unknown",
    };

    /// <summary>Parses the node and the timeout and reads the token, writing every problem to standard error.</summary>
    private async Task<(NodeEndpoint Endpoint, Metadata Headers, TimeSpan Timeout)?> PrepareAsync(string node, string tokenFile, double timeoutSeconds)
    {
        var valid = true;
        if (!NodeEndpoint.TryParse(node, out var endpoint))
        {
            await error.WriteLineAsync($"tandemctl: --node '{node}' is not HOST:PORT. Write for example 127.0.0.1:9901 or [::1]:9901.");
            valid = false;
        }

        if (timeoutSeconds is <= 0 or > 3600 || double.IsNaN(timeoutSeconds))
        {
            await error.WriteLineAsync($"tandemctl: --timeout {timeoutSeconds} is out of range. Set seconds from 0.1 to 3600, for example 15.");
            valid = false;
        }

        var token = await ReadTokenAsync(tokenFile);
        if (!valid || token is null)
        {
            return null;
        }

        return (endpoint!, new Metadata { { "authorization", $"Bearer {token}" } }, TimeSpan.FromSeconds(timeoutSeconds));
    }

    private async Task<string?> ReadTokenAsync(string path)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync(
                $"tandemctl: cannot read the token file '{path}' ({exception.Message}). Give the file that the node's " +
                "Management:ControlTokenFile names with --token-file, and run as a user that may read it.");
            return null;
        }

        var token = text.Trim();
        if (token.Length == 0 || token.Contains('\n', StringComparison.Ordinal))
        {
            await error.WriteLineAsync($"tandemctl: the token file '{path}' must contain the token on one line. Copy the node's token file.");
            return null;
        }

        return token;
    }

    private async Task<int> CallAsync(NodeEndpoint endpoint, Func<Task> call)
    {
        try
        {
            await call();
            return ExitCodes.Success;
        }
        catch (RpcException exception)
        {
            var (message, code) = Describe(endpoint, exception);
            await error.WriteLineAsync($"tandemctl: {endpoint}: {message}");
            return code;
        }
    }

    /// <summary>
    /// Converts a control call's failure into a message and an exit code. The node's own message explains why and what to
    /// do, so it is shown in full.
    /// </summary>
    internal static (string Message, int ExitCode) Describe(NodeEndpoint endpoint, RpcException exception) => exception.StatusCode switch
    {
        StatusCode.Unauthenticated => ($"not authenticated: {exception.Status.Detail}", ExitCodes.NodeError),
        StatusCode.FailedPrecondition => ($"rejected: {exception.Status.Detail}", ExitCodes.NodeError),
        StatusCode.NotFound => ($"not found: {exception.Status.Detail}", ExitCodes.NodeError),
        StatusCode.DeadlineExceeded => (
            "timed out waiting for the response. The switchover may still complete: check with 'tandemctl status', " +
            "or raise --timeout.",
            ExitCodes.Unreachable),
        StatusCode.Unimplemented => (
            "the node does not offer tandem.monitoring.v1.NodeControl. Check that HOST:PORT is the management " +
            "listener of a node version with control calls.",
            ExitCodes.NodeError),
        _ => TandemCtl.Describe(endpoint, exception),
    };
}
