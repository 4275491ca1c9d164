using Yarp.ReverseProxy.Transforms;

namespace Tandem.Node.Forwarding;

/// <summary>
/// Sets X-Forwarded-For, -Proto, -Host, -Prefix and X-Real-IP on the proxied request. When the TCP peer is a trusted
/// proxy, incoming X-Forwarded-* values are kept and the node appends its own, and an incoming X-Real-IP is kept.
/// From any other peer these headers and <c>Forwarded</c> are removed and replaced, so a client cannot forge its
/// address for the backends.
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
            var client = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
            AddHeader(context, ForwardedHeaders.XRealIp, client.ToString());
        }
    }

    private static RequestTransform[] CreateForwardedTransforms(ForwardedTransformActions action) =>
    [
        new RequestHeaderXForwardedForTransform(ForwardedHeaders.XForwardedFor, action),
        new RequestHeaderXForwardedProtoTransform(ForwardedHeaders.XForwardedProto, action),
        new RequestHeaderXForwardedHostTransform(ForwardedHeaders.XForwardedHost, action),
        new RequestHeaderXForwardedPrefixTransform(ForwardedHeaders.XForwardedPrefix, action),
    ];
}
