using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab.Certificates;
using Tandem.ClusterTests.Lab.Network;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>One booted Debian host of the deployment lab.</summary>
/// <param name="Name">The inventory name, such as <c>node-a</c>.</param>
/// <param name="Address">The address of the host's <c>eth0</c>.</param>
public sealed record DeployHost(string Name, IPAddress Address)
{
    public string ManagementEndpoint => $"{Address}:9901";
}

/// <summary>
/// Three Debian 12 hosts booted with <c>systemd-nspawn</c> (two nodes and Redis) and a controller
/// namespace, on a bridge of their own in 203.0.113.0/24 with no route out. deploy-lab.sh
/// creates and removes them; this class adds the SSH key, the certificate, the inventory and the
/// commands the test runs. Runs live in <see cref="RunsDirectory"/>, each with an owner file, so a
/// run whose test host died is removed by the next one.
/// </summary>
public sealed class DeployLab : IAsyncDisposable
{
    /// <summary>The cached root file system and the run directories, kept across test runs.</summary>
    public const string CacheDirectory = "/var/cache/tandem-deploy-test";

    public const string ServiceHostName = "demo.tandem.test";

    public static readonly IPAddress VirtualAddress = IPAddress.Parse("203.0.113.100");

    public static readonly DeployHost NodeA = new("node-a", IPAddress.Parse("203.0.113.11"));

    public static readonly DeployHost NodeB = new("node-b", IPAddress.Parse("203.0.113.12"));

    public static readonly DeployHost Redis = new("redis", IPAddress.Parse("203.0.113.20"));

    private const int BackendPort = 8080;

    private static readonly string[] RequiredCommands = ["ansible-playbook", "systemd-nspawn", "debootstrap", "ssh", "ssh-keygen", "curl"];

    private readonly ILogger _logger;
    private bool _disposed;

    private DeployLab(string runId, string runDirectory, ILogger logger)
    {
        RunId = runId;
        RunDirectory = runDirectory;
        _logger = logger;
    }

    public static string RunsDirectory => Path.Combine(CacheDirectory, "runs");

    public string RunId { get; }

    public string RunDirectory { get; }

    public string ControllerNamespace => $"tdm-{RunId}-dn-ctl";

    public string KeyPath => Path.Combine(RunDirectory, "id_ed25519");

    public string CertificatePath => Path.Combine(RunDirectory, "tls.crt");

    public string KeyFilePath => Path.Combine(RunDirectory, "tls.key");

    /// <summary>Problems met while tearing down, empty when everything was removed.</summary>
    public List<string> TeardownProblems { get; } = [];

    private static string ScriptDirectory => Path.Combine(LabPaths.RepositoryRoot, "cluster-tests", "Lab", "Deploy");

    private static string PlaybookDirectory => Path.Combine(LabPaths.RepositoryRoot, "deploy", "ansible");

    /// <summary>Returns one message per missing tool; an empty list means the deployment lab can run.</summary>
    public static async Task<IReadOnlyList<string>> FindMissingAsync()
    {
        var missing = new List<string>(await LabPrerequisites.FindMissingAsync(LabRequirements.Network));
        if (missing.Count > 0)
        {
            return missing;
        }

        foreach (string command in RequiredCommands)
        {
            CommandResult result = await CommandRunner.RunAsync("sh", ["-c", $"command -v {command}"]);
            if (!result.Succeeded)
            {
                missing.Add($"{command} is not installed; install the deployment test packages with: apt-get install ansible ansible-lint debootstrap systemd-container openssh-client curl");
                break;
            }
        }

        return missing;
    }

    /// <summary>Removes the hosts, overlays and namespaces of runs whose test process no longer exists.</summary>
    public static async Task SweepAbandonedRunsAsync(ILogger logger)
    {
        if (!Directory.Exists(RunsDirectory))
        {
            return;
        }

        foreach (string runDirectory in Directory.GetDirectories(RunsDirectory))
        {
            string runId = Path.GetFileName(runDirectory);
            if (runId.Length == 6 && runId.All(Uri.IsHexDigit) && AbandonedRunSweeper.IsAbandoned(runDirectory))
            {
                DeployLog.SweepingAbandonedRun(logger, runId, runDirectory);
                await CommandRunner.RunAsync(Path.Combine(ScriptDirectory, "deploy-lab.sh"), ["down", runId, runDirectory], TimeSpan.FromMinutes(2));
            }
        }
    }

    /// <summary>
    /// Builds the root file system when it is not cached, then boots the hosts of a new run and
    /// waits until each accepts SSH. On any failure the run is removed before the exception leaves.
    /// </summary>
    public static async Task<DeployLab> CreateAsync(ILogger logger, CancellationToken cancellationToken)
    {
        await SweepAbandonedRunsAsync(logger);

        var stopwatch = Stopwatch.StartNew();
        CommandResult rootfs = await CommandRunner.RunCheckedAsync(
            Path.Combine(ScriptDirectory, "build-rootfs.sh"), [CacheDirectory], TimeSpan.FromMinutes(15), cancellationToken);
        string rootfsPath = rootfs.StandardOutput.Trim();

        string runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var lab = new DeployLab(runId, Path.Combine(RunsDirectory, runId), logger);
        DeployLog.StepTook(logger, runId, "the root file system (cached when fast)", stopwatch.ElapsedMilliseconds);
        try
        {
            Directory.CreateDirectory(lab.RunDirectory);
            AbandonedRunSweeper.WriteOwner(lab.RunDirectory);
            await CommandRunner.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"tandem-deploy-{runId}", "-f", lab.KeyPath], cancellationToken: cancellationToken);
            using (LabCertificate.Create(lab.RunDirectory, ServiceHostName, VirtualAddress, TimeProvider.System))
            {
            }

            stopwatch.Restart();
            await CommandRunner.RunCheckedAsync(
                Path.Combine(ScriptDirectory, "deploy-lab.sh"), ["up", runId, lab.RunDirectory, rootfsPath, lab.KeyPath + ".pub"],
                TimeSpan.FromMinutes(1), cancellationToken);
            foreach (DeployHost host in new[] { NodeA, NodeB, Redis })
            {
                await lab.WaitForSshAsync(host, TimeSpan.FromSeconds(90), cancellationToken);
            }

            DeployLog.StepTook(logger, runId, "booting the hosts", stopwatch.ElapsedMilliseconds);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> on <paramref name="host"/> over SSH from the controller namespace.</summary>
    public Task<CommandResult> SshAsync(DeployHost host, string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CommandRunner.RunAsync(
            "ip",
            [
                "netns", "exec", ControllerNamespace, "ssh", "-i", KeyPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR", $"root@{host.Address}", command,
            ],
            timeout ?? TimeSpan.FromSeconds(30),
            cancellationToken);

    /// <summary>
    /// Starts a plain HTTP backend on the Redis host: Python's http.server as a transient unit of a
    /// dynamic user, serving a directory listing on port 8080.
    /// </summary>
    public async Task StartBackendAsync(CancellationToken cancellationToken)
    {
        CommandResult result = await SshAsync(
            Redis,
            $"systemd-run --unit=tandem-lab-backend -p DynamicUser=yes python3 -m http.server {BackendPort} --bind {Redis.Address} --directory /usr/share/doc",
            cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new LabCommandException($"Could not start the lab backend: {result.StandardError.Trim()}");
        }
    }

    /// <summary>Writes an inventory for the two nodes and Redis and returns its path. <paramref name="overrides"/> replace or add variables.</summary>
    public string WriteInventory(string fileName, string releaseArchive, IReadOnlyDictionary<string, object>? overrides = null)
    {
        var variables = new Dictionary<string, object>
        {
            ["ansible_user"] = "root",
            ["ansible_ssh_private_key_file"] = KeyPath,
            ["ansible_ssh_common_args"] = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5",
            ["tandem_release_archive"] = releaseArchive,
            ["tandem_vrrp_interface"] = "eth0",
            ["tandem_vrrp_vrid"] = 51,
            ["tandem_vrrp_virtual_addresses"] = new[] { $"{VirtualAddress}/24" },
            ["tandem_backends"] = new[] { new Dictionary<string, string> { ["name"] = "web-1", ["address"] = $"http://{Redis.Address}:{BackendPort}/" } },
            ["tandem_certificate_file"] = CertificatePath,
            ["tandem_key_file"] = KeyFilePath,
            ["tandem_redis_endpoint"] = $"{Redis.Address}:6379",
            ["tandem_redis_bind_address"] = Redis.Address.ToString(),
        };
        foreach ((string key, object value) in overrides ?? new Dictionary<string, object>())
        {
            variables[key] = value;
        }

        // JSON is valid YAML, so ansible reads this as a YAML inventory.
        var inventory = new Dictionary<string, object>
        {
            ["all"] = new Dictionary<string, object>
            {
                ["vars"] = variables,
                ["children"] = new Dictionary<string, object>
                {
                    ["tandem_nodes"] = new Dictionary<string, object>
                    {
                        ["hosts"] = new Dictionary<string, object>
                        {
                            [NodeA.Name] = new Dictionary<string, object> { ["ansible_host"] = NodeA.Address.ToString(), ["tandem_primary"] = true },
                            [NodeB.Name] = new Dictionary<string, object> { ["ansible_host"] = NodeB.Address.ToString() },
                        },
                    },
                    ["tandem_redis"] = new Dictionary<string, object>
                    {
                        ["hosts"] = new Dictionary<string, object>
                        {
                            [Redis.Name] = new Dictionary<string, object> { ["ansible_host"] = Redis.Address.ToString() },
                        },
                    },
                },
            },
        };

        string path = Path.Combine(RunDirectory, fileName);
        File.WriteAllText(path, JsonSerializer.Serialize(inventory, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>Runs site.yml from the controller namespace and writes its output next to the inventory.</summary>
    public async Task<PlaybookRun> RunPlaybookAsync(string inventoryPath, CancellationToken cancellationToken)
    {
        CommandResult result = await CommandRunner.RunAsync(
            "ip",
            [
                "netns", "exec", ControllerNamespace, "env", $"ANSIBLE_CONFIG={Path.Combine(PlaybookDirectory, "ansible.cfg")}",
                "ANSIBLE_NOCOLOR=1", "ANSIBLE_HOST_KEY_CHECKING=False",
                // Stamps every task with its start time, which PlaybookTimeline reads to place failed requests.
                "ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks",
                "ansible-playbook", "-i", inventoryPath, Path.Combine(PlaybookDirectory, "site.yml"),
            ],
            TimeSpan.FromMinutes(8),
            cancellationToken);
        string logPath = Path.ChangeExtension(inventoryPath, ".log");
        await File.WriteAllTextAsync(logPath, result.StandardOutput + result.StandardError, CancellationToken.None);
        DeployLog.StepTook(_logger, RunId, $"ansible-playbook -i {Path.GetFileName(inventoryPath)}", (long)result.Duration.TotalMilliseconds);
        return new PlaybookRun(result.ExitCode, result.Duration, PlaybookRecap.Parse(result.StandardOutput), result.StandardOutput, logPath);
    }

    /// <summary>Returns the VRRP state of each node (<c>MASTER</c>, <c>BACKUP</c>, …, or <c>UNREACHABLE</c>), asked with tandemctl on <paramref name="from"/>.</summary>
    public async Task<IReadOnlyDictionary<string, string>> GetStatesAsync(DeployHost from, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, string> { [NodeA.Name] = "UNREACHABLE", [NodeB.Name] = "UNREACHABLE" };
        CommandResult result = await SshAsync(
            from,
            $"/opt/tandem/current/ctl/tandemctl status --json --timeout 1 --node={NodeA.ManagementEndpoint} --node={NodeB.ManagementEndpoint}",
            TimeSpan.FromSeconds(15),
            cancellationToken);
        if (result.StandardOutput.TrimStart().StartsWith('['))
        {
            using JsonDocument document = JsonDocument.Parse(result.StandardOutput);
            foreach (JsonElement node in document.RootElement.EnumerateArray())
            {
                string endpoint = node.GetProperty("endpoint").GetString() ?? "";
                string name = endpoint == NodeA.ManagementEndpoint ? NodeA.Name : NodeB.Name;
                if (node.TryGetProperty("status", out JsonElement status) &&
                    status.TryGetProperty("virtualRouters", out JsonElement routers) && routers.GetArrayLength() > 0)
                {
                    states[name] = (routers[0].GetProperty("state").GetString() ?? "").Replace("VRRP_STATE_", "", StringComparison.Ordinal);
                }
            }
        }

        return states;
    }

    /// <summary>Polls the node states every 200 ms until <paramref name="condition"/> is true or <paramref name="timeout"/> passes. Returns the elapsed time, or null on timeout.</summary>
    public async Task<TimeSpan?> WaitForStatesAsync(
        DeployHost from, Func<IReadOnlyDictionary<string, string>, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            if (condition(await GetStatesAsync(from, cancellationToken)))
            {
                return stopwatch.Elapsed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        return null;
    }

    /// <summary>Starts a bounded request loop through the virtual address from the controller namespace.</summary>
    public VipLoad StartLoad(string name, int maxRequests, TimeSpan maxDuration) =>
        VipLoad.Start(this, Path.Combine(RunDirectory, name), maxRequests, maxDuration);

    private async Task WaitForSshAsync(DeployHost host, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        CommandResult? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            last = await SshAsync(host, "systemctl is-system-running --wait >/dev/null; true", TimeSpan.FromSeconds(60), cancellationToken);
            if (last.Succeeded)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        throw new LabStartupException(
            $"{host.Name} ({host.Address}) did not accept SSH within {timeout.TotalSeconds:0} s: {last?.StandardError.Trim()}. " +
            $"Its console log is {Path.Combine(RunDirectory, "hosts", host == Redis ? "redis" : host == NodeA ? "a" : "b", "console.log")}.");
    }

    /// <summary>Stops the hosts and removes overlays, namespaces and the run directory, then checks that nothing of the run is left.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            CommandResult down = await CommandRunner.RunAsync(
                Path.Combine(ScriptDirectory, "deploy-lab.sh"), ["down", RunId, RunDirectory], TimeSpan.FromMinutes(2));
            if (!down.Succeeded)
            {
                TeardownProblems.Add($"deploy-lab.sh down exited with {down.ExitCode}: {down.StandardError.Trim()}");
            }
        }
        catch (LabCommandException exception)
        {
            TeardownProblems.Add(exception.Message);
        }

        IReadOnlyList<string> namespaces = await LabNetwork.ListNamespacesAsync($"tdm-{RunId}-");
        if (namespaces.Count > 0)
        {
            TeardownProblems.Add($"namespaces left: {string.Join(", ", namespaces)}");
        }

        if (Directory.Exists(RunDirectory))
        {
            TeardownProblems.Add($"run directory left: {RunDirectory}");
        }

        foreach (string problem in TeardownProblems)
        {
            DeployLog.TeardownProblem(_logger, RunId, problem);
        }
    }
}

/// <summary>The result of one <c>ansible-playbook</c> run.</summary>
public sealed record PlaybookRun(int ExitCode, TimeSpan Duration, IReadOnlyList<HostRecap> Recap, string Output, string LogPath)
{
    public int TotalChanged => Recap.Sum(host => host.Changed);

    public bool Succeeded => ExitCode == 0 && Recap.Count > 0 && Recap.All(host => host.Failed == 0 && host.Unreachable == 0);

    /// <summary>The last lines of the output, for an assertion message.</summary>
    public string Tail => string.Join(Environment.NewLine, Output.Split('\n').TakeLast(40));
}
