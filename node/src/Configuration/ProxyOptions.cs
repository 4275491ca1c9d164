namespace Tandem.Node.Configuration;

/// <summary>The HTTPS listener and the forwarded-header trust, bound from the <c>Proxy</c> configuration section.</summary>
public sealed class ProxyOptions
{
    /// <summary>
    /// Listen address. <c>0.0.0.0</c> or <c>::</c> listens on every address. A specific address, such as the virtual
    /// address, is bound with IP_FREEBIND so a backup node can listen before the address is assigned to it.
    /// </summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>TCP port of the HTTPS listener.</summary>
    public int Port { get; set; } = 443;

    /// <summary>
    /// Path of the PEM file with the server certificate, optionally followed by its intermediate certificates. When
    /// set, this certificate comes before those of <see cref="Certificates"/>, so it is the default.
    /// </summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>Path of the PEM file with the certificate's private key.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>
    /// More server certificates, chosen per connection by the TLS server name (SNI) among the DNS names of each
    /// certificate. The first certificate overall is served when the name matches none.
    /// </summary>
    public List<CertificateOptions> Certificates { get; set; } = [];

    /// <summary>
    /// Networks in CIDR notation whose requests may carry X-Forwarded-* and X-Real-IP headers that the node keeps.
    /// From any other peer these headers are replaced.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>
    /// The TLS implementation of the proxy listener. <c>OpenSsl</c> drives the system's libssl.so.3 and takes session
    /// ticket keys from the cluster, so a client resumes its session on any node. <c>SslStream</c> is .NET's own
    /// TLS, whose ticket keys are random per process, so a client that moves to another node needs a full handshake.
    /// </summary>
    public string TlsEngine { get; set; } = nameof(Tls.TlsEngine.OpenSsl);

    /// <summary>How long one session-ticket key encrypts new tickets, in seconds. Equal on every node.</summary>
    public int TicketKeyRotationSeconds { get; set; } = 43200;

    /// <summary>
    /// For how many rotation intervals a key still decrypts tickets after it stops encrypting. Equal on every node.
    /// </summary>
    public int TicketKeyOverlap { get; set; } = 2;
}

/// <summary>One entry of <c>Proxy:Certificates</c>.</summary>
public sealed class CertificateOptions
{
    /// <summary>Path of the PEM file with the server certificate, optionally followed by its intermediate certificates.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>Path of the PEM file with the certificate's private key.</summary>
    public string KeyPath { get; set; } = "";
}
