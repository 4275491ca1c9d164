using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Attributes of the affinity cookie. YARP's <c>SessionAffinity:Cookie</c> settings apply where they are given;
/// otherwise the cookie is Secure, HttpOnly, SameSite=Lax and Path=/, and lasts for the browser session.
/// </summary>
internal static class AffinityCookieOptions
{
    public static CookieOptions Create(SessionAffinityCookieConfig? config, bool isHttps, TimeProvider timeProvider)
    {
        var secure = config?.SecurePolicy switch
        {
            null or CookieSecurePolicy.Always => true,
            CookieSecurePolicy.SameAsRequest => isHttps,
            CookieSecurePolicy.None => false,
            _ => true,
        };

        return new CookieOptions
        {
            Path = config?.Path ?? "/",
            Domain = config?.Domain,
            HttpOnly = config?.HttpOnly ?? true,
            Secure = secure,
            SameSite = config?.SameSite ?? SameSiteMode.Lax,
            MaxAge = config?.MaxAge,
            Expires = config?.Expiration is { } lifetime ? timeProvider.GetUtcNow() + lifetime : null,
            IsEssential = config?.IsEssential ?? false,
        };
    }
}
