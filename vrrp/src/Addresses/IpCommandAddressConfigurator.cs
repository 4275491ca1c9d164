using System.ComponentModel;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Addresses;

/// <summary>Adds and removes virtual addresses by running iproute2's <c>ip</c> command.</summary>
/// <remarks>NOTE: netlink (RTM_NEWADDR/RTM_DELADDR) will replace the child process, which costs a fork per address.</remarks>
internal sealed partial class IpCommandAddressConfigurator : IAddressConfigurator
{
    /// <summary>Time allowed for one <c>ip</c> command; it normally finishes in milliseconds.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Errors of <c>ip addr add</c> that mean the address is already there, the state we want. Kernels with netlink
    /// extended acks (seen with Linux 6.18 and iproute2 6.1) print the first for IPv4 and the second for IPv6, older
    /// ones print EEXIST.
    /// </summary>
    private static readonly string[] AlreadyAddedErrors = ["Address already assigned", "ipv6: address already assigned", "File exists"];

    /// <summary>Errors of <c>ip addr del</c> that mean the address is already gone, as above and EADDRNOTAVAIL.</summary>
    private static readonly string[] AlreadyRemovedErrors = ["Address not found", "ipv6: address not found", "Cannot assign requested address"];

    private enum CommandResult
    {
        Done,
        AlreadyDone,
        Failed,
    }

    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>
    /// Addresses that this instance added, so that a removal can tell the step-down of this process from the cleanup
    /// of a stale address that an earlier process left behind.
    /// </summary>
    private readonly HashSet<(string InterfaceName, string Address)> _added = [];

    public IpCommandAddressConfigurator(TimeProvider timeProvider, ILogger logger)
    {
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async Task<bool> AddAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
    {
        var result = await RunAsync(BuildAddArguments(interfaceName, address), AlreadyAddedErrors, cancellationToken);
        if (result == CommandResult.Failed)
        {
            return false;
        }

        lock (_added)
        {
            _added.Add((interfaceName, address.ToString()));
        }

        Log.AddressAdded(_logger, address.ToString(), interfaceName);
        return true;
    }

    public async Task<bool> RemoveAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
    {
        var result = await RunAsync([FamilyOption(address), "addr", "del", address.ToString(), "dev", interfaceName], AlreadyRemovedErrors, cancellationToken);
        if (result == CommandResult.Failed)
        {
            return false;
        }

        bool addedHere;
        lock (_added)
        {
            addedHere = _added.Remove((interfaceName, address.ToString()));
        }

        if (result == CommandResult.AlreadyDone)
        {
            Log.AddressNotPresent(_logger, address.ToString(), interfaceName);
        }
        else if (addedHere)
        {
            Log.AddressRemoved(_logger, address.ToString(), interfaceName);
        }
        else
        {
            Log.StaleAddressRemoved(_logger, address.ToString(), interfaceName);
        }

        return true;
    }

    /// <summary>Returns the arguments of <c>ip addr add</c>; IPv6 addresses get <c>nodad</c>.</summary>
    /// <remarks>
    /// Without <c>nodad</c> a new IPv6 address stays tentative during Duplicate Address Detection (RFC 4862 §5.4),
    /// about 1 s with Linux defaults. A tentative address cannot be a source and does not reply to neighbour solicitations,
    /// so the new master could not serve it at once. Worse, during a takeover the old master may still hold it. DAD
    /// would then mark it failed on the new master for good. VRRP already ensures that one node holds it.
    /// </remarks>
    internal static string[] BuildAddArguments(string interfaceName, VirtualAddress address) =>
        address.Address.AddressFamily == AddressFamily.InterNetworkV6
            ? ["-6", "addr", "add", address.ToString(), "dev", interfaceName, "nodad"]
            : ["-4", "addr", "add", address.ToString(), "dev", interfaceName];

    private static string FamilyOption(VirtualAddress address) =>
        address.Address.AddressFamily == AddressFamily.InterNetworkV6 ? "-6" : "-4";

    private async Task<CommandResult> RunAsync(string[] arguments, string[] alreadyDoneErrors, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // iproute2 prints kernel errors through strerror, which follows the locale; matching needs English text.
        startInfo.Environment["LC_ALL"] = "C";
        var commandLine = "ip " + string.Join(' ', arguments);

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned no process.");
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            Log.AddressCommandNotStarted(_logger, commandLine, ex);
            return CommandResult.Failed;
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(CommandTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            var standardError = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var standardOutput = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(linked.Token);
            }
            catch (OperationCanceledException)
            {
                // We started this child, so we stop it rather than leave it running past its deadline.
                KillIfRunning(process);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                Log.AddressCommandTimedOut(_logger, commandLine, CommandTimeout.TotalSeconds);
                return CommandResult.Failed;
            }

            var error = (await standardError).Trim().TrimEnd('.');
            await standardOutput;
            if (process.ExitCode == 0)
            {
                return CommandResult.Done;
            }

            if (alreadyDoneErrors.Any(e => error.Contains(e, StringComparison.Ordinal)))
            {
                return CommandResult.AlreadyDone;
            }

            Log.AddressCommandFailed(_logger, commandLine, process.ExitCode, error);
            return CommandResult.Failed;
        }
    }

    private static void KillIfRunning(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // The process exited between the timeout and the kill, which is the outcome we wanted.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.AddressAdded, Level = LogLevel.Information, Message = "Virtual address {address} is on {interfaceName}")]
        public static partial void AddressAdded(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.AddressRemoved, Level = LogLevel.Information, Message = "Removed virtual address {address} from {interfaceName}")]
        public static partial void AddressRemoved(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.StaleAddressRemoved, Level = LogLevel.Information, Message = "Removed stale virtual address {address} from {interfaceName}")]
        public static partial void StaleAddressRemoved(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.AddressNotPresent, Level = LogLevel.Information, Message = "Virtual address {address} was not on {interfaceName}, nothing to remove")]
        public static partial void AddressNotPresent(ILogger logger, string address, string interfaceName);

        [LoggerMessage(EventId = VrrpEventIds.AddressCommandFailed, Level = LogLevel.Error, Message = "'{command}' failed with exit code {exitCode}: {standardError}. Check that the interface exists and that the process has CAP_NET_ADMIN")]
        public static partial void AddressCommandFailed(ILogger logger, string command, int exitCode, string standardError);

        [LoggerMessage(EventId = VrrpEventIds.AddressCommandTimedOut, Level = LogLevel.Error, Message = "'{command}' timed out after {seconds} s and was killed")]
        public static partial void AddressCommandTimedOut(ILogger logger, string command, double seconds);

        [LoggerMessage(EventId = VrrpEventIds.AddressCommandNotStarted, Level = LogLevel.Error, Message = "'{command}' could not be started. Install iproute2 (Debian package iproute2) so that 'ip' is on the PATH")]
        public static partial void AddressCommandNotStarted(ILogger logger, string command, Exception exception);
    }
}
