using System.Text;

namespace Tandem.Vrrp.Packets;

/// <summary>
/// The VRRPv2 Auth Type and the 8 bytes of Authentication Data that every advert carries (RFC 3768 §5.3.6, §5.3.10).
/// </summary>
/// <remarks>
/// RFC 3768 reserves Auth Type 1, but its predecessor RFC 2338 §5.3.6.1 defined it as a simple text password, and
/// keepalived 2.2.7 still sends and checks it (<c>auth_type PASS</c>). The password travels in clear text, so it
/// only keeps a misconfigured router out of the election; it is no protection against an attacker on the link.
/// </remarks>
internal sealed class VrrpAuthentication
{
    /// <summary>Auth Type 0: no authentication; the data is sent as zeros and ignored on receipt.</summary>
    public const byte TypeNone = 0;

    /// <summary>Auth Type 1: a simple text password, zero-padded to 8 bytes (RFC 2338 §5.3.6.1).</summary>
    public const byte TypeSimpleText = 1;

    /// <summary>Length of the Authentication Data field.</summary>
    public const int DataLength = 8;

    public static readonly VrrpAuthentication None = new(TypeNone, new byte[DataLength]);

    private readonly byte[] _data;

    private VrrpAuthentication(byte type, byte[] data)
    {
        Type = type;
        _data = data;
    }

    public byte Type { get; }

    /// <summary>The 8 bytes sent in the Authentication Data field.</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>
    /// Returns simple-text authentication for <paramref name="password"/>, or <see cref="None"/> when it is empty.
    /// The password must be at most 8 bytes in UTF-8, which <see cref="VrrpOptions.Validate"/> checks.
    /// </summary>
    public static VrrpAuthentication FromPassword(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return None;
        }

        var data = new byte[DataLength];
        var length = Encoding.UTF8.GetBytes(password, data);
        if (length == 0)
        {
            return None;
        }

        return new VrrpAuthentication(TypeSimpleText, data);
    }

    /// <summary>Compares received Authentication Data with ours in constant time, so timing reveals nothing of the password.</summary>
    public bool DataMatches(ReadOnlySpan<byte> received) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(received, _data);

    /// <summary>Never shows the password.</summary>
    public override string ToString() => Type == TypeNone ? "none" : "simple text password";
}
