using Microsoft.AspNetCore.Builder;

namespace Tandem.Node.Hosting;

/// <summary>A listener that could not bind its address and port, with a message that names the settings and the fix.</summary>
internal sealed class ListenerBindException(string message, IOException innerException)
    : InvalidOperationException(message, innerException);

/// <summary>Starts a web application and words a failure to bind one of its Kestrel endpoints for the operator.</summary>
internal static class ListenerStart
{
    /// <summary>
    /// Starts <paramref name="app"/>. Kestrel reports an address in use, an address that is not on this host or a
    /// privileged port without CAP_NET_BIND_SERVICE as an <see cref="IOException"/>, which this method turns into a
    /// <see cref="ListenerBindException"/> whose message <paramref name="describe"/> words.
    /// </summary>
    /// <exception cref="ListenerBindException">Kestrel could not bind an endpoint.</exception>
    public static async Task StartAsync(WebApplication app, Func<IOException, string> describe, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException exception)
        {
            throw new ListenerBindException(describe(exception), exception);
        }
    }
}
