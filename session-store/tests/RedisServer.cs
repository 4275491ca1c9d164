using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tandem.SessionStore.Tests;

/// <summary>
/// A redis-server process started by a test on 127.0.0.1 and a free port, without persistence, and stopped by PID.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string ServerPath = "/usr/bin/redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public bool IsRunning => !_process.HasExited;

    /// <summary>
    /// Returns why Redis tests cannot run here, or null when they can. With CI=true a missing server is a failure,
    /// so this throws instead of returning a reason.
    /// </summary>
    public static string? GetSkipReason()
    {
        if (File.Exists(ServerPath))
        {
            return null;
        }

        var reason = $"{ServerPath} is missing; install it with 'apt-get install redis-server'.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"CI=true requires a Redis server: {reason}");
        }

        return reason;
    }

    public static Task<RedisServer> StartAsync() => StartAsync(GetFreePort());

    /// <summary>
    /// Starts a server on <paramref name="port"/>, for example to bring a killed one back empty.
    /// <paramref name="extraArguments"/> are further configuration directives, such as <c>--requirepass</c>.
    /// </summary>
    public static Task<RedisServer> StartAsync(int port, params string[] extraArguments) =>
        StartCoreAsync(port, [], extraArguments, tls: false);

    /// <summary>
    /// Starts a server that accepts only TLS on <paramref name="tlsPort"/>, with no plain-text port, and does not ask
    /// clients for a certificate.
    /// </summary>
    public static Task<RedisServer> StartTlsAsync(int tlsPort, string certificateFile, string keyFile, string caFile) =>
        StartCoreAsync(
            tlsPort,
            [],
            [
                "--port", "0", "--tls-port", tlsPort.ToString(), "--tls-cert-file", certificateFile,
                "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
            ],
            tls: true);

    /// <summary>
    /// Starts a Sentinel on <paramref name="port"/> with <paramref name="configurationFile"/>, which Sentinel rewrites
    /// as it learns the replicas and other sentinels.
    /// </summary>
    public static Task<RedisServer> StartSentinelAsync(int port, string configurationFile) =>
        StartCoreAsync(port, [configurationFile, "--sentinel"], [], tls: false);

    private static async Task<RedisServer> StartCoreAsync(
        int port,
        string[] leadingArguments,
        string[] extraArguments,
        bool tls)
    {
        var startInfo = new ProcessStartInfo(ServerPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Later directives override earlier ones, so extra arguments can replace the defaults, such as --port.
        string[] defaults =
        [
            "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        ];
        foreach (var argument in leadingArguments.Concat(defaults).Concat(extraArguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new RedisServer(process, port);
        try
        {
            await server.WaitUntilReadyAsync(tls);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Kills the server process, as a crash or power loss would.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.Kill();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>Sends one command in RESP and returns the first line of the reply.</summary>
    public async Task<string> SendCommandAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
        var stream = client.GetStream();

        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);

        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        var reply = Encoding.UTF8.GetString(buffer, 0, read);
        var end = reply.IndexOf("\r\n", StringComparison.Ordinal);
        return end < 0 ? reply : reply[..end];
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>
    /// Waits until the server replies to PING, or for a TLS server, which this plain-text client cannot talk to,
    /// until it accepts connections.
    /// </summary>
    private async Task WaitUntilReadyAsync(bool tls)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} at startup.");
            }

            try
            {
                if (tls)
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, Port);
                    return;
                }

                // A server that requires a password replies NOAUTH, which shows that it is ready too.
                var reply = await SendCommandAsync("PING");
                if (reply == "+PONG" || reply.StartsWith("-NOAUTH", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException) when (deadline.Elapsed < StartTimeout)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed >= StartTimeout)
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within {StartTimeout}.");
            }

            await Task.Delay(50);
        }
    }

    internal static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One Redis server shared by the tests of a class; each test calls <see cref="Require"/> first.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;
    private string? _skipReason;

    public RedisServer Require()
    {
        if (_skipReason is not null)
        {
            Assert.Skip(_skipReason);
        }

        return _server ?? throw new InvalidOperationException("The Redis fixture was not initialized.");
    }

    public async ValueTask InitializeAsync()
    {
        _skipReason = RedisServer.GetSkipReason();
        if (_skipReason is null)
        {
            _server = await RedisServer.StartAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
