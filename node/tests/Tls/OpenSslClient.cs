using System.Diagnostics;

namespace Tandem.Node.Tests.Tls;

/// <summary>
/// Runs <c>openssl s_client</c> against a node on 127.0.0.1, sends one HTTP/1.1 request and reports whether the
/// TLS session was new or resumed.
/// </summary>
internal static class OpenSslClient
{
    private const string OpenSslPath = "/usr/bin/openssl";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(15);

    public static string? GetSkipReason() =>
        File.Exists(OpenSslPath) ? null : $"{OpenSslPath} is missing; install it with 'apt-get install openssl'.";

    /// <summary>
    /// Connects with <paramref name="version"/> (<c>-tls1_2</c> or <c>-tls1_3</c>), loads the session from
    /// <paramref name="sessionIn"/> when given, saves the session to <paramref name="sessionOut"/> when given, and
    /// returns the whole output of s_client. It sends <paramref name="serverName"/> as SNI.
    /// </summary>
    public static async Task<string> RunAsync(
        int port,
        string version,
        string? sessionIn,
        string? sessionOut,
        string serverName = "localhost")
    {
        var startInfo = new ProcessStartInfo(OpenSslPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("s_client");
        startInfo.ArgumentList.Add("-connect");
        startInfo.ArgumentList.Add($"127.0.0.1:{port}");
        startInfo.ArgumentList.Add("-servername");
        startInfo.ArgumentList.Add(serverName);
        startInfo.ArgumentList.Add(version);

        // Wait for the server to close after the response, so a TLS 1.3 client has read the tickets sent after the
        // handshake before it saves the session.
        startInfo.ArgumentList.Add("-ign_eof");
        if (sessionIn is not null)
        {
            startInfo.ArgumentList.Add("-sess_in");
            startInfo.ArgumentList.Add(sessionIn);
        }

        if (sessionOut is not null)
        {
            startInfo.ArgumentList.Add("-sess_out");
            startInfo.ArgumentList.Add(sessionOut);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("openssl did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync($"GET / HTTP/1.1\r\nHost: {serverName}\r\nConnection: close\r\n\r\n");
        process.StandardInput.Close();

        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"openssl s_client to port {port} did not exit within {RunTimeout.TotalSeconds} s.");
        }

        return await output + await error;
    }

    /// <summary>Returns true for s_client's "Reused, TLSv1.x" line and false for its "New, TLSv1.x" line.</summary>
    public static bool IsReused(string output)
    {
        if (output.Contains("\nReused, ", StringComparison.Ordinal))
        {
            return true;
        }

        Assert.Contains("\nNew, ", output, StringComparison.Ordinal);
        return false;
    }
}
