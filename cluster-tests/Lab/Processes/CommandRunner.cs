using System.Diagnostics;
using System.Text;

namespace Tandem.ClusterTests.Lab.Processes;

/// <summary>The outcome of a short command that ran to completion.</summary>
public sealed record CommandResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A short command that failed or did not finish in time.</summary>
public sealed class LabCommandException(string message) : Exception(message);

/// <summary>Runs short commands (<c>ip</c>, <c>sysctl</c>, <c>tshark</c>) to completion with a time limit.</summary>
public static class CommandRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs a command and returns its result whatever the exit code.</summary>
    /// <exception cref="LabCommandException">The command could not start or did not exit within <paramref name="timeout"/>.</exception>
    public static async Task<CommandResult> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        string commandLine = FormatCommandLine(startInfo);
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new LabCommandException($"Could not start '{commandLine}': {exception.Message}. Check that {fileName} is installed.");
        }

        process.StandardInput.Close();
        Task<string> standardOutput = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> standardError = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new LabCommandException($"'{commandLine}' did not exit within {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s and was killed.");
        }

        return new CommandResult(commandLine, process.ExitCode, await standardOutput, await standardError, stopwatch.Elapsed);
    }

    /// <summary>Runs a command and throws unless it exits with 0.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        CommandResult result = await RunAsync(fileName, arguments, timeout, cancellationToken);
        if (!result.Succeeded)
        {
            throw new LabCommandException(
                $"'{result.CommandLine}' failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
        }

        return result;
    }

    internal static string FormatCommandLine(ProcessStartInfo startInfo)
    {
        var text = new StringBuilder(startInfo.FileName);
        foreach (string argument in startInfo.ArgumentList)
        {
            text.Append(' ');
            bool needsQuotes = argument.Length == 0 || argument.Any(char.IsWhiteSpace);
            text.Append(needsQuotes ? $"'{argument}'" : argument);
        }

        return text.ToString();
    }
}
