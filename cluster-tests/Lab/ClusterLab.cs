using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab.Certificates;
using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Nodes;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab;

/// <summary>
/// One run of the cluster lab: the network, Redis, two backends, two tandem nodes and a client,
/// all in namespaces of their own. <see cref="DisposeAsync"/> removes everything the run made,
/// also after a failure, and <see cref="CheckLeftoversAsync"/> verifies that it did.
/// </summary>
public sealed class ClusterLab : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<LabProcess> _processes = [];
    private readonly Dictionary<LabHost, string> _nodeConfigs = [];
    private readonly NamespaceSocketFactory _clientSockets;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly List<string> _teardownProblems = [];
    private bool _disposed;

    private ClusterLab(
        ClusterLabOptions options, LabNetwork network, string runDirectory, LabCertificate certificate,
        NamespaceSocketFactory clientSockets, ILogger logger, TimeProvider timeProvider)
    {
        Options = options;
        Network = network;
        RunDirectory = runDirectory;
        Certificate = certificate;
        _clientSockets = clientSockets;
        _logger = logger;
        _timeProvider = timeProvider;
        Client = new LabHttpClient(clientSockets, certificate, options.ClientTimeouts, timeProvider);
    }

    public ClusterLabOptions Options { get; }

    public LabNetwork Network { get; }

    public LabTopology Topology => Network.Topology;

    /// <summary>The run's own directory: node configs, process logs, the certificate and its key.</summary>
    public string RunDirectory { get; }

    public LabCertificate Certificate { get; }

    /// <summary>The client in the client namespace.</summary>
    public LabHttpClient Client { get; }

    public IPEndPoint VirtualEndpoint { get; } = new(LabTopology.VirtualAddress, LabTopology.ProxyPort);

    public string NodeAssemblyPath => Options.NodeAssemblyPath ?? LabPaths.NodeAssembly;

    /// <summary>Every process the lab started, in start order.</summary>
    public IReadOnlyList<LabProcess> Processes => _processes;

    /// <summary>Problems met by <see cref="DisposeAsync"/>; teardown goes on past each of them.</summary>
    public IReadOnlyList<string> TeardownProblems => _teardownProblems;

    /// <summary>Creates the network, the certificate and the client; starts no service yet.</summary>
    public static async Task<ClusterLab> CreateAsync(
        ClusterLabOptions options, ILogger logger, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        await AbandonedRunSweeper.SweepAsync(logger);
        LabTopology topology = LabTopology.Create();

        // Owner-only, because the private key of the lab certificate is written here.
        string runDirectory = Path.Combine(Path.GetTempPath(), $"{LabTopology.NamePrefix}{topology.RunId}");
        Directory.CreateDirectory(runDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AbandonedRunSweeper.WriteOwner(runDirectory);

        LabNetwork? network = null;
        try
        {
            network = await LabNetwork.CreateAsync(topology, logger, cancellationToken);
            var certificate = LabCertificate.Create(runDirectory, LabTopology.ServiceHostName, LabTopology.VirtualAddress, timeProvider);
            var sockets = new NamespaceSocketFactory(topology.Client.Namespace);
            return new ClusterLab(options, network, runDirectory, certificate, sockets, logger, timeProvider);
        }
        catch
        {
            if (network is not null)
            {
                await network.DeleteAsync();
            }

            Directory.Delete(runDirectory, recursive: true);
            throw;
        }
    }

    /// <summary>Starts Redis, both backends and both nodes, and waits until node-a is the settled master.</summary>
    public async Task StartAllAsync(CancellationToken cancellationToken)
    {
        await StartRedisAsync(cancellationToken);
        await StartBackendsAsync(cancellationToken);
        await StartNodesAsync(cancellationToken);
    }

    /// <summary>Starts redis-server in the redis namespace and waits until it replies to PING.</summary>
    public Task StartRedisAsync(CancellationToken cancellationToken) => StartRedisProcessAsync("redis", cancellationToken);

    /// <summary>Sends SIGKILL to the running redis-server, by its PID, and waits until it has exited.</summary>
    public async Task KillRedisAsync(CancellationToken cancellationToken)
    {
        LabProcess process = _processes.LastOrDefault(candidate => candidate.Name.StartsWith("redis", StringComparison.Ordinal) && !candidate.HasExited)
            ?? throw new InvalidOperationException("No redis-server of this lab is running.");
        process.KillHard();
        await process.WaitForExitAsync(cancellationToken);
    }

    /// <summary>
    /// Starts a new redis-server on the same address and port after <see cref="KillRedisAsync"/>, with an empty
    /// dataset because the lab's Redis never persists, and waits until it replies to PING.
    /// </summary>
    public Task RestartRedisAsync(CancellationToken cancellationToken)
    {
        int started = _processes.Count(process => process.Name.StartsWith("redis", StringComparison.Ordinal));
        return StartRedisProcessAsync($"redis-{started + 1}", cancellationToken);
    }

    private async Task StartRedisProcessAsync(string name, CancellationToken cancellationToken)
    {
        LabHost redis = Topology.Redis;
        LabProcess process = StartProcess(
            name,
            redis.Namespace,
            "redis-server",
            ["--bind", redis.Address.ToString(), "--port", LabTopology.RedisPort.ToString(), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--dir", RunDirectory]);
        await WaitUntilReadyAsync(process, name, PingRedisAsync, cancellationToken);
    }

    /// <summary>Starts the two backends and waits until each responds with its own name.</summary>
    public async Task StartBackendsAsync(CancellationToken cancellationToken)
    {
        var started = new List<(LabHost Host, LabProcess Process)>();
        foreach (LabHost backend in new[] { Topology.Backend1, Topology.Backend2 })
        {
            LabProcess process = StartProcess(
                backend.Name,
                backend.Namespace,
                LabPaths.DotnetHost,
                [LabPaths.BackendAssembly, "--name", backend.Name, "--urls", $"http://{backend.Address}:{LabTopology.BackendPort}",
                 "--lab-run", RunDirectory]);
            started.Add((backend, process));
        }

        foreach ((LabHost backend, LabProcess process) in started)
        {
            var endpoint = new IPEndPoint(backend.Address, LabTopology.BackendPort);
            await WaitUntilReadyAsync(
                process,
                backend.Name,
                async token => (await Client.GetHttpAsync(endpoint, "/ready", token)).Reply?.Backend == backend.Name,
                cancellationToken);
        }
    }

    /// <summary>
    /// Writes the node configs, starts both nodes, waits until each serves HTTPS on its own
    /// address, then until node-a alone has the virtual address for a whole Active_Down_Interval
    /// of node-b, which shows that node-b receives node-a's adverts and stays backup.
    /// </summary>
    public async Task StartNodesAsync(CancellationToken cancellationToken)
    {
        NodeSettings settings = Options.Nodes;
        var started = new List<(LabHost Node, LabProcess Process)>();
        foreach ((LabHost node, byte priority) in new[] { (Topology.NodeA, settings.NodeAPriority), (Topology.NodeB, settings.NodeBPriority) })
        {
            string configPath = NodeConfigFile.Write(RunDirectory, Topology, node, priority, settings, Certificate);
            _nodeConfigs[node] = configPath;
            LabProcess process = StartProcess(node.Name, node.Namespace, LabPaths.DotnetHost, [NodeAssemblyPath, "--config", configPath]);
            started.Add((node, process));
        }

        foreach ((LabHost node, LabProcess process) in started)
        {
            var endpoint = new IPEndPoint(node.Address, LabTopology.ProxyPort);
            await WaitUntilReadyAsync(
                process,
                $"{node.Name} HTTPS",
                async token => (await Client.GetHttpsAsync(endpoint, "/ready", null, token)).StatusCode is not null,
                cancellationToken);
        }

        await WaitForSettledMasterAsync(Topology.NodeA, settings.ActiveDownInterval(settings.NodeBPriority) + settings.AdvertisementInterval, cancellationToken);
    }

    /// <summary>Returns the process of <paramref name="node"/>.</summary>
    public LabProcess NodeProcess(LabHost node) =>
        _processes.LastOrDefault(process => process.Name == node.Name)
        ?? throw new InvalidOperationException($"{node.Name} was not started.");

    /// <summary>Returns the nodes among <paramref name="nodes"/> whose <c>eth0</c> has the virtual address.</summary>
    public async Task<IReadOnlyList<LabHost>> FindVirtualAddressHoldersAsync(IEnumerable<LabHost> nodes, CancellationToken cancellationToken)
    {
        var holders = new List<LabHost>();
        foreach (LabHost node in nodes)
        {
            if (await Network.HasAddressAsync(node, LabTopology.VirtualAddress, cancellationToken))
            {
                holders.Add(node);
            }
        }

        return holders;
    }

    /// <summary>
    /// Runs <c>tandem-node release --config PATH</c> in the namespace of <paramref name="node"/>,
    /// as systemd's ExecStopPost would after the node process died.
    /// </summary>
    public async Task<CommandResult> RunReleaseAsync(LabHost node, CancellationToken cancellationToken)
    {
        string configPath = _nodeConfigs.TryGetValue(node, out string? path)
            ? path
            : throw new InvalidOperationException($"{node.Name} has no config yet; start the nodes first.");
        CommandResult result = await CommandRunner.RunAsync(
            "ip",
            ["netns", "exec", node.Namespace, LabPaths.DotnetHost, NodeAssemblyPath, "release", "--config", configPath],
            TimeSpan.FromSeconds(30),
            cancellationToken);
        await File.WriteAllTextAsync(
            Path.Combine(RunDirectory, $"{node.Name}-release.log"),
            $"# {result.CommandLine}{Environment.NewLine}{result.StandardOutput}{result.StandardError}",
            CancellationToken.None);
        LabLog.ReleaseFinished(_logger, node.Name, result.ExitCode, (long)result.Duration.TotalMilliseconds);
        return result;
    }

    /// <summary>Starts a program inside one of the lab namespaces, logging into the run directory.</summary>
    public LabProcess StartProcess(string name, string namespaceName, string fileName, IReadOnlyList<string> arguments)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string logPath = Path.Combine(RunDirectory, $"{name}.log");
        var environment = new Dictionary<string, string?>
        {
            // Listening addresses come from each program's own arguments or config file only.
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_HTTPS_PORTS"] = null,
            ["DOTNET_URLS"] = null,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        LabProcess process = LabProcess.Start(name, namespaceName, fileName, arguments, logPath, environment);
        _processes.Add(process);
        LabLog.ProcessStarted(_logger, name, process.Pid, namespaceName, logPath);
        return process;
    }

    /// <summary>Describes every lab process with the end of its log, for failure messages.</summary>
    public string DescribeProcesses(int lineCount = 20)
    {
        var text = new StringBuilder();
        foreach (LabProcess process in _processes)
        {
            text.AppendLine(process.Describe(lineCount));
        }

        return text.ToString();
    }

    /// <summary>Lists what remains of this run: its namespaces and any process whose command line names the run directory.</summary>
    public async Task<LeftoverReport> CheckLeftoversAsync()
    {
        IReadOnlyList<string> namespaces = await LabNetwork.ListNamespacesAsync(Topology.NamespacePrefix);
        IReadOnlyList<string> processes = FindProcessesMentioning(RunDirectory);
        bool directoryRemains = !Options.KeepRunDirectory && Directory.Exists(RunDirectory);
        return new LeftoverReport(namespaces, processes, directoryRemains ? RunDirectory : null);
    }

    /// <summary>
    /// Kills every lab process by PID, deletes the namespaces and the run directory. Never
    /// throws: problems go to <see cref="TeardownProblems"/> and the log.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _clientSockets.Dispose();

        for (int i = _processes.Count - 1; i >= 0; i--)
        {
            try
            {
                await _processes[i].DisposeAsync();
            }
            catch (LabCommandException exception)
            {
                _teardownProblems.Add(exception.Message);
            }
        }

        _teardownProblems.AddRange(await Network.DeleteAsync());
        Certificate.Dispose();

        if (Options.KeepRunDirectory)
        {
            LabLog.RunDirectoryKept(_logger, RunDirectory);
        }
        else
        {
            try
            {
                Directory.Delete(RunDirectory, recursive: true);
            }
            catch (IOException exception)
            {
                _teardownProblems.Add($"Could not delete {RunDirectory}: {exception.Message}");
            }
        }

        foreach (string problem in _teardownProblems)
        {
            LabLog.TeardownProblem(_logger, problem);
        }
    }

    private async Task WaitUntilReadyAsync(LabProcess process, string what, Func<CancellationToken, Task<bool>> probe, CancellationToken cancellationToken)
    {
        long start = _timeProvider.GetTimestamp();
        bool ready = await Poll.UntilAsync(
            async token => process.HasExited || await probe(token),
            Options.StartupTimeout,
            PollInterval,
            _timeProvider,
            cancellationToken);

        if (process.HasExited)
        {
            throw new LabStartupException($"{process.Name} exited before {what} became ready.{Environment.NewLine}{DescribeProcesses()}");
        }

        if (!ready)
        {
            throw new LabStartupException(
                $"{what} was not ready within {Options.StartupTimeout.TotalSeconds:0} s.{Environment.NewLine}{DescribeProcesses()}");
        }

        LabLog.ServiceReady(_logger, what, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
    }

    private async Task WaitForSettledMasterAsync(LabHost expectedMaster, TimeSpan stableFor, CancellationToken cancellationToken)
    {
        long? heldSince = null;
        string lastHolders = "none";
        bool settled = await Poll.UntilAsync(
            async token =>
            {
                IReadOnlyList<LabHost> holders = await FindVirtualAddressHoldersAsync(Topology.Nodes, token);
                lastHolders = holders.Count == 0 ? "none" : string.Join(", ", holders.Select(holder => holder.Name));
                if (holders.Count != 1 || holders[0] != expectedMaster || Topology.Nodes.Any(node => NodeProcess(node).HasExited))
                {
                    heldSince = null;
                    return false;
                }

                heldSince ??= _timeProvider.GetTimestamp();
                return _timeProvider.GetElapsedTime(heldSince.Value) >= stableFor;
            },
            Options.StartupTimeout,
            PollInterval,
            _timeProvider,
            cancellationToken);

        if (!settled)
        {
            throw new LabStartupException(
                $"{expectedMaster.Name} did not hold {LabTopology.VirtualAddress} alone for {stableFor.TotalMilliseconds:0} ms " +
                $"within {Options.StartupTimeout.TotalSeconds:0} s; the last holders were: {lastHolders}.{Environment.NewLine}{DescribeProcesses()}");
        }

        LabLog.MasterSettled(_logger, expectedMaster.Name, LabTopology.VirtualAddress.ToString(), (long)stableFor.TotalMilliseconds);
    }

    private async Task<bool> PingRedisAsync(CancellationToken cancellationToken)
    {
        try
        {
            using Socket socket = await Client.ConnectAsync(new IPEndPoint(Topology.Redis.Address, LabTopology.RedisPort), cancellationToken);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Options.ClientTimeouts.Total);
            await stream.WriteAsync("PING\r\n"u8.ToArray(), deadline.Token);
            var buffer = new byte[16];
            int read = await stream.ReadAsync(buffer, deadline.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception exception) when (exception is SocketException or IOException or TimeoutException
                                              || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static List<string> FindProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                string commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Trim();
                if (commandLine.Contains(text, StringComparison.Ordinal))
                {
                    found.Add($"{pid}: {commandLine}");
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // The process exited while the directory was being read.
            }
        }

        return found;
    }
}

/// <summary>What remains of a lab run after teardown; everything empty means a clean teardown.</summary>
public sealed record LeftoverReport(IReadOnlyList<string> Namespaces, IReadOnlyList<string> Processes, string? RunDirectory)
{
    public bool IsClean => Namespaces.Count == 0 && Processes.Count == 0 && RunDirectory is null;

    public override string ToString() =>
        IsClean
            ? "nothing left"
            : $"namespaces: [{string.Join(", ", Namespaces)}]; processes: [{string.Join("; ", Processes)}]; run directory: {RunDirectory ?? "removed"}";
}
