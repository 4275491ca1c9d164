using System.Net;
using System.Net.NetworkInformation;
using System.Threading.Channels;
using Tandem.Vrrp.Addresses;
using Tandem.Vrrp.Platform;

namespace Tandem.Vrrp.Tests.TestSupport;

/// <summary>A platform without sockets or processes that records every request of the speaker.</summary>
internal sealed class FakePlatform : IVrrpPlatform
{
    private readonly List<string> _events = [];

    public FakePlatform()
    {
        Addresses = new FakeAddressConfigurator(this);
    }

    public static IPAddress PrimaryAddress { get; } = IPAddress.Parse("198.51.100.12");

    /// <summary>The link-local address that the fake interface reports when the virtual addresses are IPv6.</summary>
    public static IPAddress Ipv6PrimaryAddress { get; } = IPAddress.Parse("fe80::12");

    public FakeTransport Transport { get; } = new();

    public FakeArpSender ArpSender { get; } = new();

    public bool RemoveSucceeds { get; set; } = true;

    /// <summary>When set, every add waits for this task, so a test can act while a claim is in progress.</summary>
    public Task? AddGate { get; set; }

    /// <summary>Completes when the first add starts.</summary>
    public TaskCompletionSource AddStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Everything the speaker did, in order: "remove 198.51.100.100/24", "open", "add ...".</summary>
    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IAddressConfigurator Addresses { get; }

    /// <summary>The interfaces that the fake host has; the speaker tests use veth-test.</summary>
    public IReadOnlyCollection<string>? InterfaceNames { get; set; } = ["lo", "veth-test"];

    public IReadOnlyCollection<string>? ListInterfaceNames() => InterfaceNames;

    public InterfaceInfo ResolveInterface(string name, IReadOnlyCollection<IPAddress> virtualAddresses)
    {
        Record("resolve");
        var primary = virtualAddresses.FirstOrDefault()?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? Ipv6PrimaryAddress : PrimaryAddress;
        return new InterfaceInfo(name, 7, primary, [primary], PhysicalAddress.Parse("02-00-5E-10-00-01"));
    }

    public IVrrpTransport OpenTransport(InterfaceInfo info)
    {
        Record("open");
        return Transport;
    }

    public IGratuitousArpSender CreateGratuitousArpSender(InterfaceInfo info, VrrpCounters counters) => ArpSender;

    public void Record(string entry)
    {
        lock (_events)
        {
            _events.Add(entry);
        }
    }

    private sealed class FakeAddressConfigurator(FakePlatform platform) : IAddressConfigurator
    {
        public async Task<bool> AddAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
        {
            platform.AddStarted.TrySetResult();
            if (platform.AddGate is { } gate)
            {
                await gate;
            }

            platform.Record($"add {address}");
            return true;
        }

        public Task<bool> RemoveAsync(string interfaceName, VirtualAddress address, CancellationToken cancellationToken)
        {
            platform.Record($"remove {address}");
            return Task.FromResult(platform.RemoveSucceeds);
        }
    }
}

/// <summary>Records sent messages and replays queued datagrams or exceptions to the receive loop.</summary>
internal sealed class FakeTransport : IVrrpTransport
{
    private readonly Channel<object> _incoming = Channel.CreateUnbounded<object>();
    private readonly List<byte[]> _sent = [];
    private readonly List<IPAddress> _destinations = [];
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _receiveCalls;
    private TaskCompletionSource? _receiveCallsReached;
    private int _receiveCallsTarget;

    public IReadOnlyList<byte[]> Sent
    {
        get
        {
            lock (_sent)
            {
                return [.. _sent];
            }
        }
    }

    public bool IsDisposed => _disposed.Task.IsCompleted;

    /// <summary>Queues a datagram, or an exception that the next receive throws.</summary>
    public void Enqueue(object datagramOrException) => _incoming.Writer.TryWrite(datagramOrException);

    /// <summary>Completes when the receive loop has asked for <paramref name="calls"/> datagrams in total.</summary>
    public Task WaitForReceiveCallsAsync(int calls)
    {
        lock (_incoming)
        {
            if (_receiveCalls >= calls)
            {
                return Task.CompletedTask;
            }

            _receiveCallsTarget = calls;
            _receiveCallsReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _receiveCallsReached.Task;
        }
    }

    /// <summary>The destination of each message in <see cref="Sent"/>, in the same order.</summary>
    public IReadOnlyList<IPAddress> Destinations
    {
        get
        {
            lock (_sent)
            {
                return [.. _destinations];
            }
        }
    }

    public void Send(ReadOnlySpan<byte> vrrpMessage, IPAddress destination)
    {
        lock (_sent)
        {
            _sent.Add(vrrpMessage.ToArray());
            _destinations.Add(destination);
        }
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_incoming)
        {
            _receiveCalls++;
            if (_receiveCallsReached is not null && _receiveCalls >= _receiveCallsTarget)
            {
                _receiveCallsReached.TrySetResult();
            }
        }

        var item = await _incoming.Reader.ReadAsync(cancellationToken);
        if (item is Exception exception)
        {
            throw exception;
        }

        var datagram = (byte[])item;
        datagram.CopyTo(buffer);
        return datagram.Length;
    }

    public void Dispose() => _disposed.TrySetResult();
}

/// <summary>Records announcements; can hold one open until it is cancelled.</summary>
internal sealed class FakeArpSender : IGratuitousArpSender
{
    private readonly TaskCompletionSource<IReadOnlyList<IPAddress>> _announced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool HoldUntilCancelled { get; set; }

    public int Announcements { get; private set; }

    public int Cancelled { get; private set; }

    public Task<IReadOnlyList<IPAddress>> FirstAnnouncement => _announced.Task;

    public async Task AnnounceAsync(IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken)
    {
        Announcements++;
        _announced.TrySetResult(addresses);
        if (HoldUntilCancelled)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled++;
                throw;
            }
        }
    }

    public void Dispose()
    {
    }
}
