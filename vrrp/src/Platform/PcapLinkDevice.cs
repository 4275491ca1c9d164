using SharpPcap;
using SharpPcap.LibPcap;

namespace Tandem.Vrrp.Platform;

/// <summary>
/// The libpcap device of one interface, opened for sending link-layer frames, shared by the gratuitous ARP and the
/// unsolicited neighbour advertisement senders.
/// </summary>
/// <remarks>
/// SharpPcap 6.3.1 registers its own DllImport resolver that tries libpcap.so, libpcap.so.0, libpcap.so.0.8 and
/// libpcap.so.1, so Debian's runtime package libpcap0.8, which ships only libpcap.so.0.8, loads without a symlink
/// or the -dev package (checked on Debian 12 with libpcap 1.10.3). A process can register one resolver per
/// assembly and SharpPcap has already registered it, so this class adds none. It reports a missing library with
/// the package to install instead.
/// </remarks>
internal sealed class PcapLinkDevice : IDisposable
{
    private readonly string _interfaceName;
    private readonly Action<string, string, Exception?> _reportUnavailable;
    private LibPcapLiveDevice? _device;

    /// <param name="interfaceName">The interface name as libpcap lists it.</param>
    /// <param name="reportUnavailable">
    /// Called with the problem, the fix and the exception, if any, each time the device cannot be opened.
    /// </param>
    public PcapLinkDevice(string interfaceName, Action<string, string, Exception?> reportUnavailable)
    {
        _interfaceName = interfaceName;
        _reportUnavailable = reportUnavailable;
    }

    /// <summary>Opens the device unless it is open already. Returns false after reporting why it could not.</summary>
    public bool TryOpen()
    {
        if (_device is not null)
        {
            return true;
        }

        try
        {
            var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == _interfaceName);
            if (device is null)
            {
                _reportUnavailable($"libpcap lists no device named {_interfaceName}", "Check Vrrp:Interface against 'ip link'.", null);
                return false;
            }

            device.Open(new DeviceConfiguration { Mode = DeviceModes.None });
            _device = device;
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            _reportUnavailable("libpcap could not be loaded", "Install the Debian package libpcap0.8 (or your distribution's libpcap runtime).", ex);
            return false;
        }
        catch (PcapException ex)
        {
            _reportUnavailable("libpcap could not open the device", "Run the node as root or grant it CAP_NET_RAW.", ex);
            return false;
        }
    }

    /// <summary>
    /// Sends every frame once per round, waiting <paramref name="interval"/> between rounds. The device must be open.
    /// A frame that fails does not stop the others.
    /// </summary>
    /// <param name="onSent">Called with the frame's index after it was sent.</param>
    /// <param name="onFailed">Called with the frame's index and the error when libpcap could not send it.</param>
    public async Task SendRoundsAsync(
        IReadOnlyList<byte[]> frames,
        int rounds,
        TimeSpan interval,
        TimeProvider timeProvider,
        Action<int> onSent,
        Action<int, PcapException> onFailed,
        CancellationToken cancellationToken)
    {
        var device = _device ?? throw new InvalidOperationException($"The libpcap device {_interfaceName} is not open.");
        for (var round = 0; round < rounds; round++)
        {
            if (round > 0 && interval > TimeSpan.Zero)
            {
                await Task.Delay(interval, timeProvider, cancellationToken);
            }

            for (var i = 0; i < frames.Count; i++)
            {
                try
                {
                    device.SendPacket(frames[i]);
                    onSent(i);
                }
                catch (PcapException ex)
                {
                    onFailed(i, ex);
                }
            }
        }
    }

    public void Dispose()
    {
        _device?.Close();
        _device = null;
    }
}
