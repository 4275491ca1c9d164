using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>Registers the OpenSSL TLS engine and puts it on a Kestrel listener.</summary>
internal static class OpenSslTlsExtensions
{
    public static IServiceCollection AddOpenSslTls(this IServiceCollection services, NodeSettings settings)
    {
        services.AddSingleton<TlsMetrics>();
        services.AddSingleton<TicketKeyRingService>();
        services.AddHostedService(provider => provider.GetRequiredService<TicketKeyRingService>());
        services.AddSingleton(provider => OpenSslServerContext.Create(
            settings.Certificates,
            provider.GetRequiredService<TicketKeyRingService>().Ring,
            provider.GetRequiredService<TlsMetrics>()));
        return services;
    }

    /// <summary>
    /// Terminates TLS on <paramref name="listen"/> with OpenSSL. Kestrel builds the connection pipeline when it
    /// starts, after the ticket key ring has read its keys, so the services are resolved then.
    /// </summary>
    /// <remarks>
    /// NOTE: Kestrel only detects TLS set up with <c>UseHttps</c>, so at startup it logs event 64, "HTTP/2 is not
    /// enabled ... TLS is not enabled", for this listener. The warning is wrong here: Kestrel picks the protocol per
    /// connection from the ALPN feature that the middleware sets, and HTTP/2 works.
    /// </remarks>
    public static ListenOptions UseOpenSslTls(this ListenOptions listen)
    {
        listen.Use(next =>
        {
            var services = listen.ApplicationServices;
            var middleware = new OpenSslTlsMiddleware(
                next,
                services.GetRequiredService<OpenSslServerContext>(),
                services.GetRequiredService<TlsMetrics>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger("Tandem.Node.Tls"));
            return middleware.OnConnectionAsync;
        });
        return listen;
    }
}
