using System.Diagnostics;
using Tandem.ClusterTests.Lab.Native;

namespace Tandem.ClusterTests.Lab.Processes;

/// <summary>
/// A long-running program that the lab started inside one of its namespaces with
/// <c>ip netns exec</c>. That command execs the program, so <see cref="Pid"/> is the program
/// itself and signals reach it directly. Standard output and error go to <see cref="LogPath"/>.
/// </summary>
public sealed class LabProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopConfirmTimeout = TimeSpan.FromSeconds(2);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _logClosed;
    private bool _disposed;

    private LabProcess(string name, string namespaceName, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        NamespaceName = namespaceName;
        _process = process;
        _log = log;
        LogPath = logPath;
        Pid = process.Id;

        // Process.WaitForExitAsync also waits for the end of redirected output, which never comes
        // while a child of the process keeps the pipe open, so the exit is tracked on its own.
        process.Exited += (_, _) => _exited.TrySetResult();
        if (process.HasExited)
        {
            _exited.TrySetResult();
        }
    }

    public string Name { get; }

    public string NamespaceName { get; }

    public int Pid { get; }

    public string LogPath { get; }

    /// <summary>Whether the process has exited; always true once the object is disposed.</summary>
    public bool HasExited => _disposed || _process.HasExited;

    /// <summary>The exit code, or null while the process runs or after disposal.</summary>
    public int? ExitCode => !_disposed && _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> inside <paramref name="namespaceName"/>.</summary>
    public static LabProcess Start(
        string name, string namespaceName, string fileName, IEnumerable<string> arguments, string logPath,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var startInfo = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("netns");
        startInfo.ArgumentList.Add("exec");
        startInfo.ArgumentList.Add(namespaceName);
        startInfo.ArgumentList.Add(fileName);
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        log.WriteLine($"# {CommandRunner.FormatCommandLine(startInfo)}");

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            log.Dispose();
            process.Dispose();
            throw new LabCommandException($"Could not start {name} in namespace {namespaceName}: {exception.Message}.");
        }

        process.StandardInput.Close();
        var labProcess = new LabProcess(name, namespaceName, process, log, logPath);
        process.OutputDataReceived += (_, e) => labProcess.AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => labProcess.AppendLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return labProcess;
    }

    /// <summary>
    /// Sends SIGSTOP, which freezes the process the way a hung host would, and returns once every thread of the
    /// process is stopped, so that nothing the caller does afterwards can still be served by it.
    /// </summary>
    public void Stop()
    {
        Signal(LibC.SigStop, "SIGSTOP");

        // kill() only queues the stop: each thread stops when it next passes through the kernel, which on a busy
        // machine can come after the caller's next request. /proc shows state T once a thread has stopped.
        var deadline = Stopwatch.StartNew();
        while (!AllThreadsStopped())
        {
            if (deadline.Elapsed > StopConfirmTimeout)
            {
                throw new LabCommandException(
                    $"{Name} (pid {Pid}) still had running threads {StopConfirmTimeout.TotalMilliseconds:0} ms after SIGSTOP.");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Sends SIGCONT, which lets a process frozen by <see cref="Stop"/> run again.</summary>
    public void Resume() => Signal(LibC.SigCont, "SIGCONT");

    /// <summary>Sends SIGTERM so the process shuts down cleanly.</summary>
    public void Terminate() => Signal(LibC.SigTerm, "SIGTERM");

    /// <summary>Sends SIGKILL, which ends the process without running any of its shutdown code.</summary>
    public void KillHard() => Signal(LibC.SigKill, "SIGKILL");

    /// <summary>Sends SIGKILL unless the process already exited, then waits for the exit.</summary>
    public async Task KillAndWaitAsync(TimeSpan timeout)
    {
        if (_disposed)
        {
            return;
        }

        if (!_process.HasExited)
        {
            KillHard();
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _exited.Task.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new LabCommandException($"{Name} (pid {Pid}) did not exit within {timeout.TotalSeconds:0.#} s of SIGKILL.");
        }
    }

    /// <summary>Waits for the process to exit, without waiting for its output pipes to close.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _exited.Task.WaitAsync(cancellationToken);

    /// <summary>Returns the last <paramref name="lineCount"/> lines of the process log.</summary>
    public string ReadLogTail(int lineCount = 30)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var tail = new Queue<string>(lineCount);
            while (reader.ReadLine() is { } line)
            {
                if (tail.Count == lineCount)
                {
                    tail.Dequeue();
                }

                tail.Enqueue(line);
            }

            return string.Join(Environment.NewLine, tail);
        }
        catch (IOException exception)
        {
            return $"(log {LogPath} could not be read: {exception.Message})";
        }
    }

    /// <summary>Describes the process and quotes the end of its log, for failure messages.</summary>
    public string Describe(int lineCount = 30)
    {
        string state = "running";
        if (_disposed)
        {
            state = "stopped by the lab";
        }
        else if (_process.HasExited)
        {
            state = $"exited with code {_process.ExitCode}";
        }

        return $"--- {Name} (pid {Pid}, {state}), last lines of {LogPath}:{Environment.NewLine}{ReadLogTail(lineCount)}";
    }

    /// <summary>Kills the process unless it exited, waits for it and closes its log.</summary>
    /// <exception cref="LabCommandException">The process did not exit within 10 s of SIGKILL; it stays undisposed.</exception>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await KillAndWaitAsync(TimeSpan.FromSeconds(10));

        // Let the readers drain what the process wrote before it died. A child of it may keep the
        // pipes open, and the namespace teardown kills such children.
        using (var drain = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            try
            {
                await _process.WaitForExitAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
                // A child keeps the pipes open, so the log ends with what was read so far.
            }
        }

        lock (_logLock)
        {
            _logClosed = true;
            _log.Dispose();
        }

        _disposed = true;
        _process.Dispose();
    }

    private bool AllThreadsStopped()
    {
        string[] threads;
        try
        {
            threads = Directory.GetDirectories($"/proc/{Pid}/task");
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }

        foreach (string thread in threads)
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(thread, "stat"));
            }
            catch (IOException)
            {
                // A thread that ended between the listing and the read is not running either.
                continue;
            }

            // The state follows the command name, which is in parentheses and may itself contain spaces.
            int end = stat.LastIndexOf(')');
            if (end < 0 || end + 2 >= stat.Length || stat[end + 2] is not ('T' or 't'))
            {
                return false;
            }
        }

        return true;
    }

    private void Signal(int signal, string signalName)
    {
        // Once the process is reaped its PID may belong to someone else, so never signal it then.
        if (HasExited)
        {
            throw new LabCommandException($"{Name} (pid {Pid}) already exited, so {signalName} was not sent.");
        }

        if (LibC.Kill(Pid, signal) != 0)
        {
            int error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new LabCommandException($"kill({Pid}, {signalName}) for {Name} failed with errno {error}.");
        }
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }
    }
}
