using Yarp.ReverseProxy.Transforms.Builder;

namespace Tandem.Node.Forwarding;

/// <summary>
/// Replaces YARP's default X-Forwarded transforms on every route with <see cref="TrustAwareForwardedTransform"/>,
/// and rejects routes whose own transforms would also write these headers.
/// </summary>
internal sealed class ForwardedHeadersTransformProvider(TrustedProxyList trustedProxies) : ITransformProvider
{
    private static readonly string[] ForwardedTransformKeys = ["X-Forwarded", "Forwarded"];
    private static readonly string[] HeaderTransformKeys =
        ["RequestHeader", "RequestHeaderRemove", "RequestHeaderRouteValue"];

    public void ValidateRoute(TransformRouteValidationContext context)
    {
        foreach (var transform in context.Route.Transforms ?? [])
        {
            foreach (var (key, value) in transform)
            {
                var writesForwardedHeader =
                    ForwardedTransformKeys.Contains(key, StringComparer.OrdinalIgnoreCase)
                    || (HeaderTransformKeys.Contains(key, StringComparer.OrdinalIgnoreCase)
                        && ForwardedHeaders.All.Contains(value, StringComparer.OrdinalIgnoreCase));

                if (writesForwardedHeader)
                {
                    context.Errors.Add(new ArgumentException(
                        $"ReverseProxy:Routes:{context.Route.RouteId}:Transforms: the transform '{key}: {value}' " +
                        "writes forwarded headers, which the node sets itself from Proxy:TrustedProxies. " +
                        "Remove the transform."));
                }
            }
        }
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        context.UseDefaultForwarders = false;
        context.RequestTransforms.Add(new TrustAwareForwardedTransform(trustedProxies));
    }
}
