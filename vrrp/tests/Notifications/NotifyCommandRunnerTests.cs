using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Microsoft.Extensions.Time.Testing;
using Tandem.Vrrp.Notifications;
using Tandem.Vrrp.Tests.TestSupport;

namespace Tandem.Vrrp.Tests.Notifications;

/// <summary>Runs real shell scripts that each test writes to its own temporary directory.</summary>
[SupportedOSPlatform("linux")]
public sealed class NotifyCommandRunnerTests : IDisposable
{
    /// <summary>Bounds every wait on a real process, so that a broken run fails the test instead of hanging it.</summary>
    private static readonly TimeSpan ProcessWait = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly VrrpCounters _counters = new();
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("tandem-notify-");

    public void Dispose()
    {
        // Background children that a test script started and left running are stopped here, by the PIDs they wrote.
        var childPids = PathOf("child-pids");
        if (File.Exists(childPids))
        {
            foreach (var line in File.ReadAllLines(childPids))
            {
                KillIfRunning(int.Parse(line, CultureInfo.InvariantCulture));
            }
        }

        _directory.Delete(recursive: true);
    }

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // The child has already exited.
        }
        catch (InvalidOperationException)
        {
            // The child exited between the lookup and the kill.
        }
    }

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private string WriteScript(string body)
    {
        var path = PathOf("notify.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private NotifyCommandRunner CreateRunner(string command, int timeoutSeconds = 30) =>
        new(command, TimeSpan.FromSeconds(timeoutSeconds), 51, _time, _logs.CreateLogger("test"), _counters);

    [Fact]
    public async Task Run_PassesKeepalivedArguments()
    {
        var output = PathOf("calls.txt");
        var runner = CreateRunner(WriteScript($"echo \"$#|$1|$2|$3|$4\" >> '{output}'"));

        runner.Enqueue("web", "BACKUP", 100);
        runner.Enqueue("web", "MASTER", 100);
        runner.Enqueue("web", "FAULT", 70);
        await runner.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        await runner.DisposeAsync();

        Assert.Equal(["4|INSTANCE|web|BACKUP|100", "4|INSTANCE|web|MASTER|100", "4|INSTANCE|web|FAULT|70"], File.ReadAllLines(output));
        Assert.Equal(3, _counters.NotifyStarted);
        Assert.Equal(0, _counters.NotifyFailed);
    }

    [Fact]
    public async Task Run_NonzeroExitIsCountedAndLogged()
    {
        var runner = CreateRunner(WriteScript("echo 'no route to the pager' >&2\nexit 3"));

        runner.Enqueue("web", "MASTER", 100);
        await runner.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        await runner.DisposeAsync();

        Assert.Equal(1, _counters.NotifyFailed);
        Assert.Equal(0, _counters.NotifyTimedOut);
        var entry = Assert.Single(_logs.Entries, e => e.EventId.Name == "ExitedWithError");
        Assert.Contains("exited with code 3", entry.Message, StringComparison.Ordinal);
        Assert.Contains("no route to the pager", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingCommandIsCounted()
    {
        var runner = CreateRunner(PathOf("absent.sh"));

        runner.Enqueue("web", "MASTER", 100);
        await runner.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        await runner.DisposeAsync();

        Assert.Equal(0, _counters.NotifyStarted);
        Assert.Equal(1, _counters.NotifyFailed);
        Assert.Single(_logs.Entries, e => e.EventId.Name == "StartFailed");
    }

    [Fact]
    public async Task Run_TimeoutKillsCommand()
    {
        var started = PathOf("started");
        var finished = PathOf("finished");
        var runner = CreateRunner(WriteScript($"echo $$ > '{started}'\nsleep 60\necho done > '{finished}'"), timeoutSeconds: 10);
        var completed = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
        runner.Completed += exitCode => completed.TrySetResult(exitCode);

        runner.Enqueue("web", "MASTER", 100);
        await WaitForFileAsync(started);

        // Nothing happens on the real clock: only the fake clock's 10 s end the run.
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(completed.Task.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await completed.Task.WaitAsync(ProcessWait, TestContext.Current.CancellationToken));
        Assert.Equal(1, _counters.NotifyTimedOut);
        Assert.Equal(1, _counters.NotifyFailed);
        Assert.False(File.Exists(finished));
        Assert.Single(_logs.Entries, e => e.EventId.Name == "TimedOut");
        await runner.DisposeAsync();
    }

    [Fact]
    public async Task Enqueue_HungCommandNeverBlocks()
    {
        var started = PathOf("started");
        var runner = CreateRunner(WriteScript($"echo $$ > '{started}'\nsleep 60"), timeoutSeconds: 10);
        runner.Enqueue("web", "MASTER", 100);
        await WaitForFileAsync(started);

        // One run hangs and MaxQueued wait behind it: the rest return at once and are dropped.
        for (var i = 0; i < NotifyCommandRunner.MaxQueued + 5; i++)
        {
            runner.Enqueue("web", i % 2 == 0 ? "BACKUP" : "MASTER", 100);
        }

        Assert.Equal(5, _counters.NotifyDropped);
        Assert.Single(_logs.Entries.Where(e => e.EventId.Name == "Dropped").Take(1));

        // Disposing kills the hung run and drops the queued ones.
        await runner.DisposeAsync().AsTask().WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        Assert.Equal(5 + NotifyCommandRunner.MaxQueued, _counters.NotifyDropped);
    }

    [Fact]
    public async Task Run_BackgroundChildDoesNotBlockNextRun()
    {
        // The sleeping child inherits the pipes and outlives both runs: only the script's own exit may end a run.
        var calls = PathOf("calls.txt");
        // The real clock ends the bounded wait for output after each exit, which the sleeping child never closes.
        var script = WriteScript($"sleep 30 &\necho $! >> '{PathOf("child-pids")}'\necho \"$3\" >> '{calls}'\nexit 0");
        var runner = new NotifyCommandRunner(script, TimeSpan.FromSeconds(30), 51, TimeProvider.System, _logs.CreateLogger("test"), _counters);
        var stopwatch = Stopwatch.StartNew();

        runner.Enqueue("web", "BACKUP", 100);
        runner.Enqueue("web", "MASTER", 100);
        await runner.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        await runner.DisposeAsync().AsTask().WaitAsync(ProcessWait, TestContext.Current.CancellationToken);

        Assert.Equal(["BACKUP", "MASTER"], File.ReadAllLines(calls));
        Assert.Equal(2, _counters.NotifyStarted);
        Assert.Equal(0, _counters.NotifyFailed);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"Two runs took {stopwatch.Elapsed}; the 30 s child held them.");
        Assert.True(stopwatch.Elapsed >= 2 * NotifyCommandRunner.OutputDrainWait, $"Two runs took {stopwatch.Elapsed}, less than the two bounded waits for output.");
    }

    [Fact]
    public async Task Dispose_BackgroundChildDoesNotBlock()
    {
        var started = PathOf("started");
        // The subshell leaves its sleep to init at once, out of reach of the kill of the script's process tree.
        var childPids = PathOf("child-pids");
        var script = $"(sleep 30 & echo $! >> '{childPids}')\necho $$ > '{started}'\nsleep 30 &\necho $! >> '{childPids}'\nwait";
        var runner = CreateRunner(WriteScript(script), timeoutSeconds: 10);
        runner.Enqueue("web", "MASTER", 100);
        await WaitForFileAsync(started);

        // Disposing kills the running script; the reparented child must not hold the dispose until it exits.
        await runner.DisposeAsync().AsTask().WaitAsync(ProcessWait, TestContext.Current.CancellationToken);

        Assert.Equal(1, _counters.NotifyTimedOut);
    }

    [Fact]
    public async Task Run_LargeOutputKeepsBoundedTail()
    {
        // 50 MB without a newline on each pipe: the runner reads all of it but keeps only the last bytes.
        var script = "head -c 50000000 /dev/zero | tr '\\0' 'o'\nprintf 'OUT-END'\n"
            + "head -c 50000000 /dev/zero | tr '\\0' 'e' >&2\nprintf 'ERR-END' >&2\nexit 4";
        var runner = CreateRunner(WriteScript(script));

        runner.Enqueue("web", "MASTER", 100);
        await runner.StopAsync(TestContext.Current.CancellationToken).WaitAsync(ProcessWait, TestContext.Current.CancellationToken);
        await runner.DisposeAsync();

        Assert.Equal(NotifyCommandRunner.MaxOutputTailBytes, runner.LastOutputTail.Length);
        Assert.EndsWith("oooOUT-END", runner.LastOutputTail, StringComparison.Ordinal);
        Assert.Equal(NotifyCommandRunner.MaxOutputTailBytes, runner.LastErrorTail.Length);
        Assert.EndsWith("eeeERR-END", runner.LastErrorTail, StringComparison.Ordinal);
        var entry = Assert.Single(_logs.Entries, e => e.EventId.Name == "ExitedWithError");
        Assert.Contains("exited with code 4", entry.Message, StringComparison.Ordinal);
        Assert.EndsWith("eeeERR-END", entry.Message, StringComparison.Ordinal);
        Assert.True(entry.Message.Length < NotifyCommandRunner.MaxOutputTailBytes + 300, $"The log entry has {entry.Message.Length} characters.");
    }

    private static async Task WaitForFileAsync(string path)
    {
        // Waits for a real process to start; the bound keeps a broken test from hanging.
        var deadline = DateTime.UtcNow + ProcessWait;
        while (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{path} did not appear within {ProcessWait}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
