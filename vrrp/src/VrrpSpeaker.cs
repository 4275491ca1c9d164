using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.Notifications;
using Tandem.Vrrp.Packets;
using Tandem.Vrrp.Platform;
using Tandem.Vrrp.StateMachine;
using Tandem.Vrrp.Tracking;

namespace Tandem.Vrrp;

/// <summary>
/// A VRRP speaker for one virtual router over IPv4 or IPv6: it elects a master among the nodes on a link and puts the
/// virtual addresses on its interface while it is master. It speaks version 3 (RFC 9568) or 2 (RFC 3768), to the
/// multicast group or to unicast peers.
/// </summary>
/// <remarks>
/// Linux only. It needs CAP_NET_RAW for the raw socket and libpcap, CAP_NET_ADMIN to add and remove addresses over
/// rtnetlink, and the libpcap runtime (Debian package libpcap0.8) for gratuitous ARP and neighbour advertisements.
/// </remarks>
public sealed partial class VrrpSpeaker : IAsyncDisposable
{
    /// <summary>Pause after a socket error before the next receive, so that a persistent error cannot spin a core.</summary>
    private static readonly TimeSpan ReceiveErrorBackoff = TimeSpan.FromMilliseconds(100);

    private readonly IVrrpPlatform _platform;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ILogger _socketLogger;
    private readonly Lock _lifecycleLock = new();
    private readonly LogRateLimiter<SocketError> _socketErrorLimiter;
    private readonly TrackedConditionMonitor _tracking;

    private Running? _running;
    private bool _started;

    public VrrpSpeaker(VrrpOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider)
        : this(options, loggerFactory, timeProvider, new LinuxVrrpPlatform(options, timeProvider, loggerFactory))
    {
    }

    internal VrrpSpeaker(VrrpOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider, IVrrpPlatform platform)
    {
        Options = options;
        _platform = platform;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger(VrrpLogCategories.Speaker);
        _socketLogger = loggerFactory.CreateLogger(VrrpLogCategories.Socket);
        _socketErrorLimiter = new LogRateLimiter<SocketError>(timeProvider, AdvertisementReceiver.LogInterval);
        _tracking = new TrackedConditionMonitor(options, timeProvider, loggerFactory.CreateLogger(VrrpLogCategories.Tracking));
        InstanceName = $"VRID{options.VirtualRouterId}";
    }

    public VrrpOptions Options { get; }

    public VrrpState State => _running?.Router.State ?? VrrpState.Initialize;

    /// <summary>The last advertisement accepted from the master; null before the first one, before the start and while this node is master.</summary>
    public VrrpMasterHeard? MasterHeard => _running?.Router.MasterHeard;

    /// <summary>The instance name passed to <see cref="VrrpOptions.NotifyCommand"/>; the node sets it to the router's name.</summary>
    public string InstanceName { get; set; }

    /// <summary>
    /// The conditions of <see cref="VrrpOptions.Track"/>. The speaker checks the link and file ones; the host must call
    /// <see cref="TrackedCondition.SetFailed"/> for the listener, pool and store ones.
    /// </summary>
    public IReadOnlyList<TrackedCondition> TrackedConditions => _tracking.Conditions;

    /// <summary>The priority this node advertises: the configured one, lowered by failed tracked conditions.</summary>
    public int EffectivePriority => _running?.Router.EffectivePriority ?? Options.Priority;

    /// <summary>True while a tracked condition of weight 0 has failed, so that this node never becomes master.</summary>
    public bool InFault => _running?.Router.InFault ?? false;

    /// <summary>The last state change, or null before the start.</summary>
    public VrrpStateChange? LastStateChange { get; private set; }

    /// <summary>Packet, transition and error counters, including discarded packets by <see cref="VrrpRejectReason"/>.</summary>
    public VrrpCounters Counters { get; } = new();

    /// <summary>
    /// Raised after every state change, on the speaker's own loop (a timer or the receive loop). Handlers run while
    /// the state machine holds its lock, so they must return quickly; an exception from a handler is logged and ignored.
    /// </summary>
    public event Action<VrrpStateChange>? StateChanged;

    /// <summary>Raised when maintenance mode is entered or left, with the same threading rules as <see cref="StateChanged"/>.</summary>
    public event Action<VrrpMaintenanceChange>? MaintenanceChanged;

    /// <summary>True while this node never becomes master, until <see cref="Resume"/>.</summary>
    public bool InMaintenance => _running?.Router.InMaintenance ?? false;

    /// <summary>True between a hand-over's priority-0 advert and its outcome.</summary>
    public bool HandingOver => _running?.Router.HandingOver ?? false;

    /// <summary>
    /// Hands the Master state to a backup (a planned switchover): sends one advert with priority 0 and keeps the
    /// virtual addresses until the new master's advert arrives, then moves to Backup and releases them. This node
    /// does not preempt the new master afterwards until it becomes master again or <see cref="Resume"/> is called.
    /// </summary>
    /// <param name="reason">Why, in words; it starts the reason of the resulting state change.</param>
    public Task<VrrpHandOverResult> HandOverAsync(string reason) =>
        _running is { Stopped: false } running ? running.Router.HandOverAsync(reason) : Task.FromResult(VrrpHandOverResult.Stopped);

    /// <summary>
    /// Enters maintenance mode, in which this node never becomes master. A master hands over first, and stays master
    /// and out of maintenance when no backup takes over.
    /// </summary>
    public Task<VrrpHandOverResult> EnterMaintenanceAsync(string reason) =>
        _running is { Stopped: false } running ? running.Router.EnterMaintenanceAsync(reason) : Task.FromResult(VrrpHandOverResult.Stopped);

    /// <summary>
    /// Runs after a completed hand-over, on the address worker, before the virtual addresses are removed. The new
    /// master holds them by then, but hosts that have not yet processed its gratuitous ARP still send to this node, so
    /// a hook that waits for requests in flight lets them finish. It must be bounded; the removal follows even if it throws.
    /// </summary>
    public Func<Task>? BeforeHandOverRelease { get; set; }

    /// <summary>Leaves maintenance mode. Returns false when the node was not in maintenance or the speaker is not running.</summary>
    public bool Resume(string reason) => _running is { Stopped: false } running && running.Router.Resume(reason);

    /// <summary>
    /// Moves a backup to Master at once, as if its Master_Down_Timer had fired (RFC 9568 §6.4.2): it advertises,
    /// claims the virtual addresses and starts the Adver_Timer. A sync group uses it to bring a router along whose
    /// master is silent. Returns false, changing nothing, when the router is not Backup or is in maintenance.
    /// </summary>
    /// <remarks>
    /// NOTE: the check and the change are two steps, so a router that leaves Backup between them logs an impossible
    /// transition at Error and stays in its new state.
    /// </remarks>
    public bool TakeOver(string reason)
    {
        if (_running is not { Stopped: false } running || running.Router.InMaintenance || running.Router.State != VrrpState.Backup)
        {
            return false;
        }

        running.Router.ChangeState(VrrpState.Master, reason);
        return running.Router.State == VrrpState.Master;
    }

    /// <summary>Removes stale virtual addresses, opens the raw socket and enters Backup (or Master for priority 255).</summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the exception lists every error.</exception>
    /// <exception cref="InvalidOperationException">The interface, the socket or the stale-address cleanup failed; the message contains the fix.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycleLock)
        {
            if (_started)
            {
                throw new InvalidOperationException("The VRRP speaker was already started; create a new one to start again.");
            }

            _started = true;
        }

        ThrowIfInvalid(Options, _platform.ListInterfaceNames);
        var virtualAddresses = Options.ParseVirtualAddresses();
        var vrid = (byte)Options.VirtualRouterId;
        var version = Options.ParseVersion();
        var checksumMode = Options.ParseChecksumMode();
        var authentication = version == VrrpVersion.V2 ? VrrpAuthentication.FromPassword(Options.AuthenticationPassword) : VrrpAuthentication.None;
        var unicastPeers = Options.ParseUnicastPeers();
        var addressFamily = Options.GetAddressFamily() ?? AddressFamily.InterNetwork;
        var group = addressFamily == AddressFamily.InterNetworkV6 ? VrrpPacket.Ipv6MulticastGroup : VrrpPacket.Ipv4MulticastGroup;
        var mode = unicastPeers.Count == 0 ? $"multicast to {group}" : $"unicast to {string.Join(", ", unicastPeers)}";
        Log.Starting(_logger, vrid, Options.Interface, (int)version, mode, authentication.ToString(), Options.Priority, Options.AdvertisementIntervalCentiseconds, string.Join(", ", Options.VirtualAddresses));

        // A process that was killed as master left its addresses behind; two nodes must never hold them at once.
        await RemoveAddressesAsync(_platform.Addresses, Options.Interface, virtualAddresses, cancellationToken);

        var addressList = virtualAddresses.Select(a => a.Address).ToArray();
        var info = _platform.ResolveInterface(Options.Interface, addressList);
        Log.InterfaceResolved(_logger, vrid, info.Name, info.Index, info.PrimaryAddress, info.MacAddress.ToString());

        var transport = _platform.OpenTransport(info);
        IGratuitousArpSender arpSender;
        try
        {
            arpSender = _platform.CreateGratuitousArpSender(info, Counters);
        }
        catch
        {
            transport.Dispose();
            throw;
        }

        var worker = new VirtualAddressWorker(info.Name, virtualAddresses, _platform.Addresses, arpSender, Counters, _loggerFactory.CreateLogger(VrrpLogCategories.Addresses));
        var destinations = unicastPeers.Count == 0 ? [group] : unicastPeers;
        var advertTemplate = new AdvertTemplate(version, vrid, (ushort)Options.AdvertisementIntervalCentiseconds, addressList, info.PrimaryAddress, destinations, checksumMode, authentication);
        var actions = new RouterActions(this, transport, worker, advertTemplate);
        var settings = new VirtualRouterSettings(vrid, (byte)Options.Priority, Options.AdvertisementIntervalCentiseconds, Options.Preempt, info.PrimaryAddress, version)
        {
            PreemptDelay = TimeSpan.FromSeconds(Options.PreemptDelaySeconds),
            GratuitousArpMasterDelay = TimeSpan.FromSeconds(Options.GratuitousArpMasterDelaySeconds),
            GratuitousArpRefresh = TimeSpan.FromSeconds(Options.GratuitousArpRefreshSeconds),
        };
        var router = new VirtualRouter(settings, actions, _timeProvider, _loggerFactory.CreateLogger(VrrpLogCategories.StateMachine), Counters);
        var notifier = string.IsNullOrEmpty(Options.NotifyCommand)
            ? null
            : new NotifyCommandRunner(Options.NotifyCommand, TimeSpan.FromSeconds(Options.NotifyTimeoutSeconds), vrid, _timeProvider, _loggerFactory.CreateLogger(VrrpLogCategories.Notify), Counters);
        router.StateChanged += OnStateChanged;
        if (notifier is not null)
        {
            router.StateChanged += change => Notify(notifier, router, change.To);
            router.FaultChanged += fault => Notify(notifier, router, fault ? null : router.State);
        }
        router.MaintenanceChanged += change => MaintenanceChanged?.Invoke(change);

        var localAddresses = info.LocalAddresses.ToHashSet();
        var context = new VrrpReadContext(version, vrid, localAddresses.Contains)
        {
            AddressFamily = addressFamily,
            ChecksumMode = checksumMode,
            Authentication = authentication,
            AdvertisementIntervalCentiseconds = Options.AdvertisementIntervalCentiseconds,
            UnicastPeers = unicastPeers.Count == 0 ? null : unicastPeers.ToHashSet(),
        };
        var receiver = new AdvertisementReceiver(context, router, Counters, addressList, _timeProvider, _loggerFactory.CreateLogger(VrrpLogCategories.Packets));

        var stopping = new CancellationTokenSource();
        var running = new Running(router, transport, arpSender, worker, receiver, stopping) { Notifier = notifier };
        running.LogFlushTimer = _timeProvider.CreateTimer(_ => FlushSuppressedLogs(running), null, AdvertisementReceiver.LogInterval, AdvertisementReceiver.LogInterval);
        _running = running;
        running.ReceiveLoop = Task.Run(() => ReceiveLoopAsync(transport, receiver, vrid, stopping.Token), CancellationToken.None);

        _tracking.Start(router);
        router.Start();
        Log.Started(_logger, vrid, router.State);
    }

    /// <summary>As master: sends an advert with priority 0 and removes the virtual addresses. Then closes the socket.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Running? running;
        lock (_lifecycleLock)
        {
            running = _running;
            if (running is null || running.Stopped)
            {
                return;
            }

            running.Stopped = true;
        }

        var vrid = (byte)Options.VirtualRouterId;
        Log.Stopping(_logger, vrid, running.Router.State);

        // Shutdown sends the priority-0 advert through the still-open socket and queues the release of the addresses.
        _tracking.Dispose();
        running.Router.Shutdown();

        await running.Stopping.CancelAsync();
        try
        {
            await running.ReceiveLoop!.WaitAsync(cancellationToken);
            await running.Worker.CompleteAsync(cancellationToken);
            if (running.Notifier is { } notifier)
            {
                await notifier.StopAsync(cancellationToken);
            }
        }
        finally
        {
            if (running.Notifier is { } notifier)
            {
                await notifier.DisposeAsync();
            }

            running.LogFlushTimer?.Dispose();
            FlushSuppressedLogs(running);
            running.Router.Dispose();
            running.Transport.Dispose();
            running.ArpSender.Dispose();
            running.Stopping.Dispose();
        }

        Log.Stopped(_logger, vrid);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// Removes the configured virtual addresses from the interface if present. Used at startup and by the
    /// node's release command, which a service manager runs after the process ends (systemd ExecStopPost).
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the exception lists every error.</exception>
    /// <exception cref="InvalidOperationException">At least one address could not be removed; the log has the command's error.</exception>
    public static async Task ReleaseAddressesAsync(VrrpOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(options, VrrpOptions.ListInterfaceNames);
        var configurator = new NetlinkAddressConfigurator(logger);
        await RemoveAddressesAsync(configurator, options.Interface, options.ParseVirtualAddresses(), cancellationToken);
    }

    /// <summary>Reports the repeats that the rate-limited logs left out, so that a burst that ended is still logged.</summary>
    private void FlushSuppressedLogs(Running running)
    {
        running.Receiver.FlushSuppressedLogs();
        running.Router.FlushSuppressedLogs();
        foreach (var (socketError, count) in _socketErrorLimiter.TakeSuppressed())
        {
            Log.SocketErrorsRepeated(_socketLogger, (byte)Options.VirtualRouterId, count, socketError);
        }
    }

    private static async Task RemoveAddressesAsync(IAddressConfigurator configurator, string interfaceName, IReadOnlyList<VirtualAddress> addresses, CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        foreach (var address in addresses)
        {
            if (!await configurator.RemoveAsync(interfaceName, address, cancellationToken))
            {
                failed.Add(address.ToString());
            }
        }

        if (failed.Count > 0)
        {
            throw new InvalidOperationException($"Could not remove the virtual addresses {string.Join(", ", failed)} from {interfaceName}; the log has the error of each removal.");
        }
    }

    private static void ThrowIfInvalid(VrrpOptions options, Func<IReadOnlyCollection<string>?> listInterfaceNames)
    {
        var errors = options.Validate(listInterfaceNames);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(VrrpOptions.SectionName, typeof(VrrpOptions), errors);
        }
    }

    private void OnStateChanged(VrrpStateChange change)
    {
        LastStateChange = change;
        if (change.To == VrrpState.Master)
        {
            Counters.OnBecameMaster();
        }

        StateChanged?.Invoke(change);
    }

    /// <summary>Queues a notify run for <paramref name="state"/>, or for FAULT when it is null.</summary>
    private void Notify(NotifyCommandRunner notifier, VirtualRouter router, VrrpState? state)
    {
        // A backup in fault reports FAULT once, from FaultChanged, rather than BACKUP on every change.
        if (state == VrrpState.Backup && router.InFault)
        {
            return;
        }

        var name = state switch
        {
            VrrpState.Master => "MASTER",
            VrrpState.Backup => "BACKUP",
            VrrpState.Initialize => "STOP",
            null => "FAULT",
            _ => throw new NotSupportedException($"Unknown VRRP state {state}."),
        };
        notifier.Enqueue(InstanceName, name, router.EffectivePriority);
    }

    private async Task ReceiveLoopAsync(IVrrpTransport transport, AdvertisementReceiver receiver, byte vrid, CancellationToken stopping)
    {
        // Large enough for a maximal IPv4 header (60 bytes) and the largest VRRP message (4088 bytes, over IPv6).
        var buffer = new byte[60 + VrrpPacket.MaxMessageLength];
        while (!stopping.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await transport.ReceiveAsync(buffer, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException ex)
            {
                Counters.OnReceiveError();
                if (_socketErrorLimiter.ShouldLog(ex.SocketErrorCode, out var suppressed))
                {
                    LogSocketErrorsRepeated(vrid, ex.SocketErrorCode, suppressed);
                    Log.ReceiveFailed(_socketLogger, vrid, ex.SocketErrorCode, ex);
                }

                await DelayAsync(ReceiveErrorBackoff, stopping);
                continue;
            }
            catch (ObjectDisposedException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Anything else is unexpected, but the node must keep its place in the election, so log and go on.
                Counters.OnReceiveError();
                Log.ReceiveLoopFailed(_socketLogger, vrid, ex);
                await DelayAsync(ReceiveErrorBackoff, stopping);
                continue;
            }

            try
            {
                receiver.OnDatagram(buffer.AsSpan(0, length));
            }
            catch (Exception ex)
            {
                // The reader does not throw on malformed bytes (a fuzz test checks it), so this is a bug. One packet must
                // not stop the speaker.
                Log.PacketHandlingFailed(_socketLogger, vrid, length, ex);
            }
        }
    }

    private void LogSocketErrorsRepeated(byte vrid, SocketError socketError, long count)
    {
        if (count > 0)
        {
            Log.SocketErrorsRepeated(_socketLogger, vrid, count, socketError);
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, _timeProvider, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping; the loop condition ends the loop.
        }
    }

    /// <summary>The parts that exist between a successful start and the end of the stop.</summary>
    private sealed class Running(VirtualRouter router, IVrrpTransport transport, IGratuitousArpSender arpSender, VirtualAddressWorker worker, AdvertisementReceiver receiver, CancellationTokenSource stopping)
    {
        public VirtualRouter Router { get; } = router;

        public IVrrpTransport Transport { get; } = transport;

        public IGratuitousArpSender ArpSender { get; } = arpSender;

        public VirtualAddressWorker Worker { get; } = worker;

        public AdvertisementReceiver Receiver { get; } = receiver;

        public ITimer? LogFlushTimer { get; set; }

        public CancellationTokenSource Stopping { get; } = stopping;

        public Task? ReceiveLoop { get; set; }

        public bool Stopped { get; set; }

        public NotifyCommandRunner? Notifier { get; init; }
    }

    /// <summary>The fields that every advert of this speaker shares, and where it goes.</summary>
    /// <param name="Destinations">224.0.0.18, or every unicast peer.</param>
    private sealed record AdvertTemplate(
        VrrpVersion Version,
        byte VirtualRouterId,
        ushort IntervalCentiseconds,
        IReadOnlyList<IPAddress> Addresses,
        IPAddress Source,
        IReadOnlyList<IPAddress> Destinations,
        VrrpChecksumMode ChecksumMode,
        VrrpAuthentication Authentication);

    /// <summary>Connects the state machine's actions to the socket and the address worker.</summary>
    private sealed class RouterActions(VrrpSpeaker speaker, IVrrpTransport transport, VirtualAddressWorker worker, AdvertTemplate template)
        : IVirtualRouterActions
    {
        // The state machine calls these under its lock, so one buffer serves every advert.
        private readonly byte[] _buffer = new byte[VrrpPacket.MaxMessageLength];

        public void SendAdvertisement(byte priority)
        {
            var advertisement = new VrrpAdvertisement(template.Version, template.VirtualRouterId, priority, template.IntervalCentiseconds, template.Addresses)
            {
                AuthenticationType = template.Authentication.Type,
            };

            // Each unicast peer gets its own copy, because the VRRPv3 pseudo-header names the destination.
            foreach (var destination in template.Destinations)
            {
                var length = VrrpPacket.Write(advertisement, template.Source, destination, _buffer, template.ChecksumMode, template.Authentication);
                try
                {
                    transport.Send(_buffer.AsSpan(0, length), destination);
                    speaker.Counters.OnAdvertisementSent(priority);
                }
                catch (SocketException ex)
                {
                    // A lost advert is survivable, the next one follows in Advertisement_Interval; backups time out only after three.
                    speaker.Counters.OnSendError();
                    if (speaker._socketErrorLimiter.ShouldLog(ex.SocketErrorCode, out var suppressed))
                    {
                        speaker.LogSocketErrorsRepeated(template.VirtualRouterId, ex.SocketErrorCode, suppressed);
                        Log.SendFailed(speaker._socketLogger, template.VirtualRouterId, destination, priority, ex.SocketErrorCode, ex);
                    }
                }
            }
        }

        public void ClaimAddresses() => worker.Claim();

        public void AnnounceAddresses() => worker.Announce();

        public void ReleaseAddresses() => worker.Release();

        public void ReleaseAddressesAfterHandOver() => worker.Release(speaker.BeforeHandOverRelease);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.SpeakerStarting, Level = LogLevel.Information, Message = "VRID {vrid} starting on {interfaceName}: VRRPv{version}, {mode}, authentication {authentication}, priority {priority}, advert interval {intervalCentiseconds} cs, virtual addresses {addresses}")]
        public static partial void Starting(ILogger logger, byte vrid, string interfaceName, int version, string mode, string authentication, int priority, int intervalCentiseconds, string addresses);

        [LoggerMessage(EventId = VrrpEventIds.InterfaceResolved, Level = LogLevel.Information, Message = "VRID {vrid} uses {interfaceName} (index {interfaceIndex}), primary address {primaryAddress}, MAC {mac}")]
        public static partial void InterfaceResolved(ILogger logger, byte vrid, string interfaceName, int interfaceIndex, IPAddress primaryAddress, string mac);

        [LoggerMessage(EventId = VrrpEventIds.SpeakerStarted, Level = LogLevel.Information, Message = "VRID {vrid} started in state {state}")]
        public static partial void Started(ILogger logger, byte vrid, VrrpState state);

        [LoggerMessage(EventId = VrrpEventIds.SpeakerStopping, Level = LogLevel.Information, Message = "VRID {vrid} stopping in state {state}")]
        public static partial void Stopping(ILogger logger, byte vrid, VrrpState state);

        [LoggerMessage(EventId = VrrpEventIds.SpeakerStopped, Level = LogLevel.Information, Message = "VRID {vrid} stopped; the socket is closed and the virtual addresses are released")]
        public static partial void Stopped(ILogger logger, byte vrid);

        [LoggerMessage(EventId = VrrpEventIds.ReceiveFailed, Level = LogLevel.Warning, Message = "VRID {vrid} receive failed with {socketError}; retrying")]
        public static partial void ReceiveFailed(ILogger logger, byte vrid, SocketError socketError, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.SendFailed, Level = LogLevel.Warning, Message = "VRID {vrid} sending an advert to {destination} with priority {priority} failed with {socketError}")]
        public static partial void SendFailed(ILogger logger, byte vrid, IPAddress destination, byte priority, SocketError socketError, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.SocketErrorsRepeated, Level = LogLevel.Warning, Message = "VRID {vrid} had {count} more socket errors {socketError} since the last report; the speaker's counters have the totals")]
        public static partial void SocketErrorsRepeated(ILogger logger, byte vrid, long count, SocketError socketError);

        [LoggerMessage(EventId = VrrpEventIds.ReceiveLoopFailed, Level = LogLevel.Warning, Message = "VRID {vrid} receive loop caught an unexpected error; retrying")]
        public static partial void ReceiveLoopFailed(ILogger logger, byte vrid, Exception exception);

        [LoggerMessage(EventId = VrrpEventIds.PacketHandlingFailed, Level = LogLevel.Error, Message = "VRID {vrid} handling a received datagram of {length} bytes failed; this is a bug, the packet was dropped")]
        public static partial void PacketHandlingFailed(ILogger logger, byte vrid, int length, Exception exception);
    }
}
