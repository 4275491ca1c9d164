using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;

namespace Tandem.Vrrp.Notifications;

/// <summary>
/// Runs the configured notify command once per state change, one run at a time and in order, on its own loop, so
/// that a slow or hung command never blocks the state machine.
/// </summary>
/// <remarks>
/// The arguments follow keepalived 2.2.7's <c>notify</c> script: <c>INSTANCE</c>, the instance name, the state in
/// upper case and the priority. The command runs without a shell, and only the last
/// <see cref="MaxOutputTailBytes"/> of its standard output and standard error are kept. A run ends when the command
/// itself exits and its output is read. A child left in the background that still holds the pipes delays the end by
/// at most <see cref="OutputDrainWait"/>. This side of the pipes then closes, so such a child gets SIGPIPE (or EPIPE)
/// if it writes later. After the timeout the command is killed with the children it still has. A child that was
/// already reparented to init keeps running. keepalived itself sets no timeout on notify scripts.
/// </remarks>
internal sealed partial class NotifyCommandRunner : IAsyncDisposable
{
    /// <summary>Runs waiting beyond this are dropped and counted: a command slower than the state changes cannot catch up.</summary>
    internal const int MaxQueued = 32;

    /// <summary>Bytes kept from the end of the command's standard output and of its standard error; the rest is read and dropped.</summary>
    internal const int MaxOutputTailBytes = 4096;

    /// <summary>How long the readers may take after the command's exit to read what it wrote, while a child keeps the pipes open.</summary>
    internal static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(1);

    /// <summary>How long a killed run may take to exit before the loop moves on without it.</summary>
    private static readonly TimeSpan KilledExitWait = TimeSpan.FromSeconds(5);

    private readonly string _command;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly VrrpCounters _counters;
    private readonly byte _vrid;
    private readonly Channel<string[]> _queue = Channel.CreateBounded<string[]>(new BoundedChannelOptions(MaxQueued) { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public NotifyCommandRunner(string command, TimeSpan timeout, byte vrid, TimeProvider timeProvider, ILogger logger, VrrpCounters counters)
    {
        _command = command;
        _timeout = timeout;
        _vrid = vrid;
        _timeProvider = timeProvider;
        _logger = logger;
        _counters = counters;
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>The kept end of the last completed run's standard output. For tests.</summary>
    internal string LastOutputTail { get; private set; } = "";

    /// <summary>The kept end of the last completed run's standard error. For tests.</summary>
    internal string LastErrorTail { get; private set; } = "";

    /// <summary>Raised after each run, with its exit code, or null when it failed to start or timed out. For tests.</summary>
    internal event Action<int?>? Completed;

    /// <summary>Queues one run with keepalived's four notify arguments. Returns at once; a full queue drops the run.</summary>
    public void Enqueue(string instanceName, string state, int priority)
    {
        string[] arguments = ["INSTANCE", instanceName, state, priority.ToString(CultureInfo.InvariantCulture)];
        if (!_queue.Writer.TryWrite(arguments))
        {
            _counters.OnNotifyDropped();
            Log.Dropped(_logger, _vrid, state, MaxQueued);
        }
    }

    /// <summary>Lets the queued runs finish, each within the timeout, then stops the loop.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host gave up waiting: kill the run in progress and drop the rest.
            await _stopping.CancelAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop;
        _stopping.Dispose();
    }

    private async Task RunLoopAsync()
    {
        await foreach (var arguments in _queue.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (_stopping.IsCancellationRequested)
            {
                _counters.OnNotifyDropped();
                continue;
            }

            int? exitCode = null;
            try
            {
                exitCode = await RunAsync(arguments);
            }
            catch (Exception ex)
            {
                // The loop must survive any failure so that later state changes are still reported.
                _counters.OnNotifyFailed();
                Log.Failed(_logger, _vrid, _command, arguments[2], ex);
            }

            Completed?.Invoke(exitCode);
        }
    }

    private async Task<int?> RunAsync(string[] arguments)
    {
        var state = arguments[2];
        var startInfo = new ProcessStartInfo(_command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };

        // The timeout runs on the TimeProvider from before the start, so that a test's fake clock controls it.
        using var timeout = new CancellationTokenSource(_timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            _counters.OnNotifyFailed();
            Log.StartFailed(_logger, _vrid, _command, state, ex.Message);
            return null;
        }

        _counters.OnNotifyStarted();
        process.StandardInput.Close();

        // The pipes are read here and not with BeginOutputReadLine, because WaitForExitAsync then also waits for
        // end of file on them. A child that the command leaves in the background keeps the pipes open, so that
        // wait would last as long as the child.
        using var stopReading = new CancellationTokenSource();
        var outputTail = new OutputTail(MaxOutputTailBytes);
        var errorTail = new OutputTail(MaxOutputTailBytes);
        var outputReader = outputTail.ReadAsync(process.StandardOutput.BaseStream, stopReading.Token);
        var errorReader = errorTail.ReadAsync(process.StandardError.BaseStream, stopReading.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token);
            await WaitForOutputAsync(outputReader, errorReader);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await WaitForKilledExitAsync(process);
            _counters.OnNotifyFailed();
            _counters.OnNotifyTimedOut();
            Log.TimedOut(_logger, _vrid, _command, state, (int)_timeout.TotalSeconds);
            return null;
        }
        finally
        {
            // The readers stop without waiting for end of file, and disposing the process closes this side of the pipes.
            await stopReading.CancelAsync();
            await Task.WhenAll(outputReader, errorReader);
        }

        if (process.ExitCode != 0)
        {
            _counters.OnNotifyFailed();
            Log.ExitedWithError(_logger, _vrid, _command, state, process.ExitCode, errorTail.ToString());
        }

        LastOutputTail = outputTail.ToString();
        LastErrorTail = errorTail.ToString();
        return process.ExitCode;
    }

    private async Task WaitForOutputAsync(Task outputReader, Task errorReader)
    {
        // The command's own output is all in the pipes once it has exited, so the readers normally reach end of file
        // at once. A child left in the background keeps the pipes open, so the wait for the rest is bounded.
        try
        {
            await Task.WhenAll(outputReader, errorReader).WaitAsync(OutputDrainWait, _timeProvider);
        }
        catch (TimeoutException)
        {
            // A child left in the background keeps the pipes open, and its later output does not belong to this run.
        }
    }

    private async Task WaitForKilledExitAsync(Process process)
    {
        // SIGKILL ends the process itself at once, so this bound only guards against a process stuck in the kernel.
        using var bound = new CancellationTokenSource(KilledExitWait, _timeProvider);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            Log.KilledButNotExited(_logger, _vrid, _command, (int)KilledExitWait.TotalSeconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandFailed, Level = LogLevel.Warning, Message = "VRID {vrid} notify command {command} for state {state} failed to start: {error}. Check that the path exists and is executable")]
        public static partial void StartFailed(ILogger logger, byte vrid, string command, string state, string error);

        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandFailed, Level = LogLevel.Warning, Message = "VRID {vrid} notify command {command} for state {state} exited with code {exitCode}; its standard error ends with: {errorOutput}")]
        public static partial void ExitedWithError(ILogger logger, byte vrid, string command, string state, int exitCode, string errorOutput);

        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandFailed, Level = LogLevel.Error, Message = "VRID {vrid} notify command {command} for state {state} failed")]
        public static partial void Failed(ILogger logger, byte vrid, string command, string state, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandTimedOut, Level = LogLevel.Warning, Message = "VRID {vrid} notify command {command} for state {state} timed out after {timeoutSeconds} s and was killed")]
        public static partial void TimedOut(ILogger logger, byte vrid, string command, string state, int timeoutSeconds);

        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandDropped, Level = LogLevel.Warning, Message = "VRID {vrid} dropped the notify run for state {state} because {maxQueued} runs are already waiting; the command is slower than the state changes")]
        public static partial void Dropped(ILogger logger, byte vrid, string state, int maxQueued);

        [LoggerMessage(EventId = VrrpEventIds.NotifyCommandTimedOut, Level = LogLevel.Error, Message = "VRID {vrid} notify command {command} did not exit within {waitSeconds} s after SIGKILL; the next run starts without waiting for it")]
        public static partial void KilledButNotExited(ILogger logger, byte vrid, string command, int waitSeconds);
    }
}
