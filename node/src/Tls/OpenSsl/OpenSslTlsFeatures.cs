using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>
/// The TLS features of a connection whose handshake OpenSSL did. Kestrel reads <see cref="ITlsConnectionFeature"/>
/// to set the request scheme to https and <see cref="ITlsApplicationProtocolFeature"/> to choose HTTP/2 or HTTP/1.1.
/// </summary>
internal sealed class OpenSslTlsFeatures(TlsSessionInfo session)
    : ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsHandshakeFeature
{
    // The node does not request client certificates.
    public X509Certificate2? ClientCertificate { get; set; }

    public ReadOnlyMemory<byte> ApplicationProtocol => session.ApplicationProtocol;

    public SslProtocols Protocol => session.ProtocolVersion switch
    {
        Interop.Tls13Version => SslProtocols.Tls13,
        Interop.Tls12Version => SslProtocols.Tls12,
        _ => SslProtocols.None,
    };

    public TlsCipherSuite? NegotiatedCipherSuite => session.CipherSuite == 0 ? null : (TlsCipherSuite)session.CipherSuite;

    public string HostName => session.HostName;

    /// <summary>True when the client resumed a session from a ticket instead of a full handshake.</summary>
    public bool Resumed => session.Resumed;

#pragma warning disable SYSLIB0058 // The algorithm properties are obsolete, but the interface still requires them.
    public CipherAlgorithmType CipherAlgorithm => CipherAlgorithmType.None;

    public int CipherStrength => 0;

    public HashAlgorithmType HashAlgorithm => HashAlgorithmType.None;

    public int HashStrength => 0;

    public ExchangeAlgorithmType KeyExchangeAlgorithm => ExchangeAlgorithmType.None;

    public int KeyExchangeStrength => 0;
#pragma warning restore SYSLIB0058

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
        Task.FromResult(ClientCertificate);
}
