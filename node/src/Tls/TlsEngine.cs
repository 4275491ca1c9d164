namespace Tandem.Node.Tls;

/// <summary>The TLS implementation of the proxy listener, chosen with <c>Proxy:TlsEngine</c>.</summary>
public enum TlsEngine
{
    /// <summary>.NET's SslStream through Kestrel's <c>UseHttps</c>: ticket keys are random per process.</summary>
    SslStream,

    /// <summary>The system's OpenSSL 3, with session-ticket keys shared by the cluster.</summary>
    OpenSsl,
}
