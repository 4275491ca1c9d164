namespace Tandem.Node.Tls;

/// <summary>Event ids of the TLS engine's log messages, in the range 1500 to 1549 of the node's ids.</summary>
internal static class TlsEventIds
{
    public const int HandshakeFailed = 1500;
}
