using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Tandem.Node.Monitoring;

/// <summary>Counts requests on the proxy listener and those that YARP failed to forward.</summary>
internal sealed class ProxyRequestCounters
{
    private long _requests;
    private long _failures;

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests for which YARP set an <see cref="IForwarderErrorFeature"/> with an error other than None.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Middleware for the proxy pipeline: counts the request, then checks YARP's error feature afterwards.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        await next(context);

        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is not null && error.Error != ForwarderError.None)
        {
            Interlocked.Increment(ref _failures);
        }
    }
}
