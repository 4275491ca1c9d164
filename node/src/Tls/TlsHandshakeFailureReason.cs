namespace Tandem.Node.Tls;

/// <summary>Why a TLS handshake on the proxy listener did not complete.</summary>
public enum TlsHandshakeFailureReason
{
    /// <summary>The client sent bytes that are not a valid TLS handshake, or OpenSSL rejected its parameters.</summary>
    ProtocolError,

    /// <summary>The client closed the connection before the handshake completed.</summary>
    ClientClosed,

    /// <summary>The handshake did not complete within the handshake timeout.</summary>
    Timeout,

    /// <summary>Reading from or writing to the socket failed, for example with a connection reset.</summary>
    TransportError,
}
