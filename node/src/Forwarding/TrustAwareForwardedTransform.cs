using System.Net;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Transforms;

namespace Tandem.Node.Forwarding;

/// <summary>
/// Sets X-Forwarded-For, -Proto, -Host, -Prefix and X-Real-IP on the proxied request. When the TCP peer is a trusted
/// proxy, incoming X-Forwarded-* values are kept and the node appends its own, and an incoming X-Real-IP is kept.
/// Without one, X-Real-IP is the right-most address in the incoming X-Forwarded-For that is not a trusted proxy, as
/// nginx's realip module computes it with <c>real_ip_recursive on</c>. From any other peer these headers and
/// <c>Forwarded</c> are removed and replaced, so a client cannot forge its address for the backends.
/// </summary>
internal sealed class TrustAwareForwardedTransform : RequestTransform
{
    private readonly TrustedProxyList _trustedProxies;
    private readonly RequestTransform[] _appendTransforms = CreateForwardedTransforms(ForwardedTransformActions.Append);
    private readonly RequestTransform[] _setTransforms = CreateForwardedTransforms(ForwardedTransformActions.Set);

    public TrustAwareForwardedTransform(TrustedProxyList trustedProxies)
    {
        _trustedProxies = trustedProxies;
    }

    public override async ValueTask ApplyAsync(RequestTransformContext context)
    {
        var peer = context.HttpContext.Connection.RemoteIpAddress;
        var trusted = _trustedProxies.Contains(peer);

        if (!trusted)
        {
            RemoveHeader(context, ForwardedHeaders.Forwarded);
        }

        foreach (var transform in trusted ? _appendTransforms : _setTransforms)
        {
            await transform.ApplyAsync(context);
        }

        // X-Real-IP carries one address, the original client, so a trusted proxy's value is kept as it is.
        var realIp = TakeHeader(context, ForwardedHeaders.XRealIp);
        if (trusted && !string.IsNullOrEmpty(realIp))
        {
            AddHeader(context, ForwardedHeaders.XRealIp, realIp);
        }
        else if (peer is not null)
        {
            var client = trusted
                ? FindClientInForwardedFor(context.HttpContext.Request.Headers[ForwardedHeaders.XForwardedFor], peer)
                : peer;
            AddHeader(context, ForwardedHeaders.XRealIp, Normalize(client).ToString());
        }
    }

    /// <summary>
    /// Walks the client's X-Forwarded-For from the right and returns the first address outside the trusted networks,
    /// or the left-most address when every entry is trusted. Returns <paramref name="peer"/> when the header is
    /// absent or the walk reaches an entry that is not an address, because a trusted proxy would not write one.
    /// </summary>
    private IPAddress FindClientInForwardedFor(StringValues forwardedFor, IPAddress peer)
    {
        IPAddress? leftmostTrusted = null;

        // The header may arrive as several lines, and each line may contain several comma-separated entries.
        for (var line = forwardedFor.Count - 1; line >= 0; line--)
        {
            var entries = (forwardedFor[line] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            for (var index = entries.Length - 1; index >= 0; index--)
            {
                // IPEndPoint also accepts an address with a port, such as 198.51.100.7:4711 or [2001:db8::7]:4711.
                if (!IPEndPoint.TryParse(entries[index], out var endPoint))
                {
                    return peer;
                }

                if (!_trustedProxies.Contains(endPoint.Address))
                {
                    return endPoint.Address;
                }

                leftmostTrusted = endPoint.Address;
            }
        }

        return leftmostTrusted ?? peer;
    }

    private static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static RequestTransform[] CreateForwardedTransforms(ForwardedTransformActions action) =>
    [
        new RequestHeaderXForwardedForTransform(ForwardedHeaders.XForwardedFor, action),
        new RequestHeaderXForwardedProtoTransform(ForwardedHeaders.XForwardedProto, action),
        new RequestHeaderXForwardedHostTransform(ForwardedHeaders.XForwardedHost, action),
        new RequestHeaderXForwardedPrefixTransform(ForwardedHeaders.XForwardedPrefix, action),
    ];
}
