using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Node.Configuration;

/// <summary>An IP address with a prefix length, as in <c>198.51.100.100/24</c>, where the host bits may be set.</summary>
internal readonly record struct AddressPrefix(IPAddress Address, int PrefixLength)
{
    public int MaxPrefixLength => Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>Parses <c>address/length</c>. Without <c>/length</c> it fails unless <paramref name="allowBareAddress"/> is set.</summary>
    public static bool TryParse(string text, bool allowBareAddress, out AddressPrefix prefix)
    {
        prefix = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];

        if (!IPAddress.TryParse(addressText, out var address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
        {
            return false;
        }

        var maxLength = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            prefix = new AddressPrefix(address, maxLength);
            return allowBareAddress;
        }

        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || length > maxLength)
        {
            return false;
        }

        prefix = new AddressPrefix(address, length);
        return true;
    }

    /// <summary>The network that contains <see cref="Address"/>, with the host bits cleared.</summary>
    public IPNetwork ToNetwork()
    {
        var bytes = Address.GetAddressBytes();
        for (var bit = PrefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), PrefixLength);
    }

    /// <summary>True when no host bit is set, so the text names a network rather than an address in it.</summary>
    public bool IsNetworkAddress => ToNetwork().BaseAddress.Equals(Address);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength}");
}
