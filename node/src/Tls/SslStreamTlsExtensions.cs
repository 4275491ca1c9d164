using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Tandem.Node.Tls;

/// <summary>Puts .NET's own TLS (<c>SslStream</c>) on a Kestrel listener, with the certificate chosen per server name.</summary>
internal static class SslStreamTlsExtensions
{
    public static ListenOptions UseSslStreamTls(this ListenOptions listen, ServerCertificateSelector selector)
    {
        // Built once here: SslStreamCertificateContext holds the chain sent to clients, so no connection builds it.
        var contexts = selector.Certificates
            .Select(certificate => SslStreamCertificateContext.Create(
                certificate.Certificate,
                certificate.Intermediates,
                offline: true))
            .ToArray();

        // Kestrel adds the ALPN protocols of the listener to the options that the callback returns.
        return listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = context => ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = contexts[selector.SelectIndex(context.ClientHelloInfo.ServerName)],
            }),
        });
    }
}
