using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli;

/// <summary>The tandemctl commands: <c>status</c> and <c>watch</c>, and those of <see cref="ControlCommands"/>.</summary>
internal sealed class TandemCtl(
    Func<NodeEndpoint, NodeMonitor.NodeMonitorClient> createClient,
    TextWriter output,
    TextWriter error,
    Func<NodeEndpoint, NodeControl.NodeControlClient>? createControlClient = null)
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // Let watch end its stream and exit 0 instead of the process being killed.
            e.Cancel = true;
            cancel.Cancel();
        };

        var channels = new List<GrpcChannel>();
        try
        {
            var ctl = new TandemCtl(
                endpoint =>
                {
                    var channel = GrpcChannel.ForAddress(endpoint.Address);
                    channels.Add(channel);
                    return new NodeMonitor.NodeMonitorClient(channel);
                },
                Console.Out,
                Console.Error,
                endpoint =>
                {
                    var channel = GrpcChannel.ForAddress(endpoint.Address);
                    channels.Add(channel);
                    return new NodeControl.NodeControlClient(channel);
                });
            return await ctl.RunAsync(args, cancel.Token);
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var nodeOption = new Option<string[]>("--node", "-n")
        {
            Description = $"Management listener of a node as HOST:PORT. Repeat it for several nodes. Default: {NodeEndpoint.Default}.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [NodeEndpoint.Default],
        };
        var jsonOption = new Option<bool>("--json") { Description = "Write JSON instead of a table." };
        var timeoutOption = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for each node's response (status) or for the first event (watch).",
            DefaultValueFactory = _ => DefaultTimeout.TotalSeconds,
        };

        var status = new Command("status", "Show every node of the cluster, as the given nodes see it through their heartbeats.") { nodeOption, jsonOption, timeoutOption };
        var watch = new Command("watch", "Print a node's events as they happen, until Ctrl+C or until the node stops.")
        {
            nodeOption, jsonOption, timeoutOption,
        };
        var root = new RootCommand("tandemctl: query Tandem nodes over their gRPC management listener.") { status, watch };

        if (createControlClient is not null)
        {
            foreach (var command in new ControlCommands(createControlClient, output, error).Create())
            {
                root.Subcommands.Add(command);
            }
        }

        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var parseError in parseResult.Errors)
            {
                await error.WriteLineAsync($"tandemctl: {parseError.Message}");
            }

            await error.WriteLineAsync("Run 'tandemctl --help' for the usage.");
            return ExitCodes.Usage;
        }

        status.SetAction((result, token) => StatusAsync(
            result.GetValue(nodeOption) ?? [], result.GetValue(jsonOption), result.GetValue(timeoutOption), token));
        watch.SetAction((result, token) => WatchAsync(
            result.GetValue(nodeOption) ?? [], result.GetValue(jsonOption), result.GetValue(timeoutOption), token));

        return await parseResult.InvokeAsync(
            new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false },
            cancellationToken);
    }

    private async Task<int> StatusAsync(string[] nodes, bool json, double timeoutSeconds, CancellationToken cancellationToken)
    {
        if (!TryParseNodes(nodes, timeoutSeconds, out var endpoints, out var timeout))
        {
            return ExitCodes.Usage;
        }

        var results = await Task.WhenAll(endpoints.Select(endpoint => GetStatusAsync(endpoint, timeout, cancellationToken)));
        if (json)
        {
            StatusRenderer.WriteJson(output, results);
        }
        else
        {
            StatusRenderer.WriteTable(output, results);
        }

        foreach (var result in results.Where(r => r.Error is not null))
        {
            await error.WriteLineAsync($"tandemctl: {result.Endpoint}: {result.Error}");
        }

        return results.Max(r => r.ExitCode);
    }

    private async Task<int> WatchAsync(string[] nodes, bool json, double timeoutSeconds, CancellationToken cancellationToken)
    {
        if (!TryParseNodes(nodes, timeoutSeconds, out var endpoints, out var timeout))
        {
            return ExitCodes.Usage;
        }

        if (endpoints.Count != 1)
        {
            await error.WriteLineAsync("tandemctl: watch follows one node. Give --node once, or run one watch per node.");
            return ExitCodes.Usage;
        }

        var endpoint = endpoints[0];
        try
        {
            using var call = createClient(endpoint).Watch(new WatchRequest(), cancellationToken: cancellationToken);
            using (var firstEvent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // Only the snapshot has a deadline: later events may be minutes apart.
                firstEvent.CancelAfter(timeout);
                if (!await call.ResponseStream.MoveNext(firstEvent.Token))
                {
                    await error.WriteLineAsync($"tandemctl: {endpoint}: the node ended the stream before the snapshot; it may be stopping.");
                    return ExitCodes.NodeError;
                }
            }

            do
            {
                var nodeEvent = call.ResponseStream.Current;
                await output.WriteLineAsync(json ? StatusRenderer.FormatEventJson(nodeEvent) : StatusRenderer.FormatEvent(endpoint, nodeEvent));
                await output.FlushAsync(cancellationToken);
            }
            while (await call.ResponseStream.MoveNext(cancellationToken));

            await error.WriteLineAsync($"tandemctl: {endpoint}: the node ended the stream, usually because it is stopping.");
            return ExitCodes.Success;
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync(DescribeTimeout(endpoint, timeout));
            return ExitCodes.Unreachable;
        }
        catch (RpcException exception)
        {
            var (message, code) = Describe(endpoint, exception);
            await error.WriteLineAsync($"tandemctl: {endpoint}: {message}");
            return code;
        }
    }

    /// <summary>Asks the node for its cluster view, or for its status alone when the node predates GetCluster.</summary>
    private async Task<NodeResult> GetStatusAsync(NodeEndpoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = createClient(endpoint);
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            var view = await client.GetClusterAsync(new GetClusterRequest(), deadline: deadline, cancellationToken: cancellationToken);
            var own = view.Members.FirstOrDefault(m => m.Self)?.Status;
            return own is null
                ? new NodeResult(endpoint, null, "the cluster view has no entry for the node itself. Check the node's version.", ExitCodes.NodeError)
                : new NodeResult(endpoint, own, null, ExitCodes.Success, view);
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Unimplemented)
        {
            // Fall through to GetStatus below.
        }
        catch (RpcException exception)
        {
            var (message, code) = Describe(endpoint, exception);
            return new NodeResult(endpoint, null, message, code);
        }

        try
        {
            var status = await client.GetStatusAsync(new GetStatusRequest(), deadline: deadline, cancellationToken: cancellationToken);
            return new NodeResult(endpoint, status, null, ExitCodes.Success);
        }
        catch (RpcException exception)
        {
            var (message, code) = Describe(endpoint, exception);
            return new NodeResult(endpoint, null, message, code);
        }
    }

    /// <summary>Converts a gRPC failure into a message that names what failed and what to try, and returns its exit code.</summary>
    internal static (string Message, int ExitCode) Describe(NodeEndpoint endpoint, RpcException exception) => exception.StatusCode switch
    {
        StatusCode.Unavailable => (
            $"cannot connect ({exception.Status.Detail}). Check that the node runs, that Management:Address and " +
            $"Management:Port are {endpoint}, and that no firewall blocks the port.",
            ExitCodes.Unreachable),
        StatusCode.DeadlineExceeded => (
            "timed out waiting for the response. Check the network path to the node, or raise --timeout.",
            ExitCodes.Unreachable),
        StatusCode.PermissionDenied => (
            $"permission denied: {exception.Status.Detail}",
            ExitCodes.NodeError),
        StatusCode.Unimplemented => (
            "the node does not offer tandem.monitoring.v1.NodeMonitor. Check that HOST:PORT is a Tandem management " +
            "listener and not the proxy or the metrics port.",
            ExitCodes.NodeError),
        _ => (
            $"the node returned {exception.StatusCode}: {exception.Status.Detail}. Check the node's log for details.",
            ExitCodes.NodeError),
    };

    private static string DescribeTimeout(NodeEndpoint endpoint, TimeSpan timeout) =>
        $"tandemctl: {endpoint}: no snapshot within {timeout.TotalSeconds:0.#} s. Check the network path to the node, or raise --timeout.";

    private bool TryParseNodes(string[] nodes, double timeoutSeconds, out List<NodeEndpoint> endpoints, out TimeSpan timeout)
    {
        endpoints = [];
        timeout = TimeSpan.Zero;
        var valid = true;
        foreach (var node in nodes.Length == 0 ? [NodeEndpoint.Default] : nodes)
        {
            if (NodeEndpoint.TryParse(node, out var endpoint))
            {
                endpoints.Add(endpoint);
            }
            else
            {
                error.WriteLine($"tandemctl: --node '{node}' is not HOST:PORT. Write for example 127.0.0.1:9901 or [::1]:9901.");
                valid = false;
            }
        }

        if (timeoutSeconds is <= 0 or > 3600 || double.IsNaN(timeoutSeconds))
        {
            error.WriteLine($"tandemctl: --timeout {timeoutSeconds} is out of range. Set seconds from 0.1 to 3600, for example 5.");
            valid = false;
        }
        else
        {
            timeout = TimeSpan.FromSeconds(timeoutSeconds);
        }

        return valid;
    }
}
