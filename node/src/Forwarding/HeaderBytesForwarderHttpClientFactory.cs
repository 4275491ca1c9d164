using System.Text;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Tandem.Node.Forwarding;

/// <summary>
/// YARP's client factory with Latin-1 as the default encoding of outgoing request headers, so header bytes outside
/// ASCII reach the destination unchanged, as they do through HAProxy or nginx.
/// </summary>
/// <remarks>
/// Kestrel decodes incoming request headers as Latin-1 too (see <c>NodeApplication</c>), which maps each byte to one
/// character and back, so any byte sequence that Kestrel accepts round-trips, valid UTF-8 or not. Without this, the
/// outgoing <see cref="HttpClient"/> allows only ASCII and every such request failed with 502. A cluster that sets
/// <c>HttpClient:RequestHeaderEncoding</c> keeps its own choice, which encodes the Latin-1 characters again, so
/// docs/configuration.md tells operators to leave it unset.
/// </remarks>
internal sealed class HeaderBytesForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger)
    : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);

        if (context.NewConfig.RequestHeaderEncoding is null)
        {
            handler.RequestHeaderEncodingSelector = static (_, _) => Encoding.Latin1;
        }
    }
}
