using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Addresses;

/// <summary>
/// Runs address claims and releases one at a time, in the order the state machine asked for them, away from the
/// state machine's lock. A release cancels a gratuitous ARP burst still in progress, so a node that steps down does
/// not keep announcing addresses it no longer holds.
/// </summary>
internal sealed partial class VirtualAddressWorker
{
    private enum Command
    {
        Claim,
        Announce,
        Release,
    }

    private readonly string _interfaceName;
    private readonly IReadOnlyList<VirtualAddress> _addresses;
    private readonly IAddressConfigurator _configurator;
    private readonly IGratuitousArpSender _arpSender;
    private readonly VrrpCounters _counters;
    private readonly ILogger _logger;
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly Task _loop;
    private readonly Queue<Func<Task>?> _releaseWaits = new();
    private CancellationTokenSource? _announcement;
    private int _pendingReleases;

    public VirtualAddressWorker(
        string interfaceName,
        IReadOnlyList<VirtualAddress> addresses,
        IAddressConfigurator configurator,
        IGratuitousArpSender arpSender,
        VrrpCounters counters,
        ILogger logger)
    {
        _interfaceName = interfaceName;
        _addresses = addresses;
        _configurator = configurator;
        _arpSender = arpSender;
        _counters = counters;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Queues adding the addresses and announcing them.</summary>
    public void Claim() => _commands.Writer.TryWrite(Command.Claim);

    /// <summary>Queues announcing the addresses again, without adding them; skipped when a release is queued.</summary>
    public void Announce() => _commands.Writer.TryWrite(Command.Announce);

    /// <summary>Queues removing the addresses and cancels an announcement in progress.</summary>
    /// <param name="wait">Awaited on this worker's loop before the removal, for example to let requests finish. It must be bounded.</param>
    public void Release(Func<Task>? wait = null)
    {
        lock (_lock)
        {
            _pendingReleases++;
            _releaseWaits.Enqueue(wait);
            _announcement?.Cancel();
        }

        _commands.Writer.TryWrite(Command.Release);
    }

    /// <summary>Accepts no more commands and waits until the queued ones, a final release included, have run.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        _commands.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        await foreach (var command in _commands.Reader.ReadAllAsync())
        {
            try
            {
                switch (command)
                {
                    case Command.Claim:
                        await ClaimAsync();
                        break;
                    case Command.Announce:
                        await AnnounceAsync();
                        break;
                    default:
                        await ReleaseAsync();
                        break;
                }
            }
            catch (Exception ex)
            {
                // One failed command must not end the loop, or later releases would never run.
                _counters.OnAddressCommandFailure();
                Log.CommandFailed(_logger, command.ToString(), _interfaceName, ex);
            }
        }
    }

    private async Task ClaimAsync()
    {
        foreach (var address in _addresses)
        {
            if (!await _configurator.AddAsync(_interfaceName, address, CancellationToken.None))
            {
                _counters.OnAddressCommandFailure();
            }
        }

        await AnnounceAsync();
    }

    private async Task AnnounceAsync()
    {
        CancellationTokenSource announcement;
        lock (_lock)
        {
            if (_pendingReleases > 0)
            {
                // The node stepped down while the addresses were being added; announcing them now would mislead hosts.
                return;
            }

            announcement = _announcement = new CancellationTokenSource();
        }

        try
        {
            await _arpSender.AnnounceAsync([.. _addresses.Select(a => a.Address)], announcement.Token);
        }
        catch (OperationCanceledException) when (announcement.IsCancellationRequested)
        {
            // A release arrived during the burst; it runs next.
        }
        finally
        {
            lock (_lock)
            {
                _announcement = null;
            }

            announcement.Dispose();
        }
    }

    private async Task ReleaseAsync()
    {
        Func<Task>? wait;
        lock (_lock)
        {
            wait = _releaseWaits.Dequeue();
        }

        if (wait is not null)
        {
            try
            {
                await wait();
            }
            catch (Exception ex)
            {
                // The addresses must go whatever the wait did, or two nodes would keep them.
                Log.ReleaseWaitFailed(_logger, _interfaceName, ex);
            }
        }

        lock (_lock)
        {
            _pendingReleases--;
        }

        foreach (var address in _addresses)
        {
            if (!await _configurator.RemoveAsync(_interfaceName, address, CancellationToken.None))
            {
                _counters.OnAddressCommandFailure();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.AddressReleaseWaitFailed, Level = LogLevel.Error, Message = "The wait before releasing the virtual addresses on {interfaceName} failed; releasing them now")]
        public static partial void ReleaseWaitFailed(ILogger logger, string interfaceName, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.AddressWorkerCommandFailed, Level = LogLevel.Error, Message = "{command} of the virtual addresses on {interfaceName} failed")]
        public static partial void CommandFailed(ILogger logger, string command, string interfaceName, Exception exception);
    }
}
