using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Attributes of the affinity cookie. YARP's <c>SessionAffinity:Cookie</c> settings apply where they are given;
/// otherwise the cookie is Secure, HttpOnly, SameSite=Lax and Path=/, and lasts for the browser session.
/// </summary>
internal static class AffinityCookieOptions
{
    /// <summary>
    /// Checks the <c>SessionAffinity:Cookie</c> settings of a cluster that uses the <c>ClusterCookie</c> policy and adds
    /// one error per invalid attribute that YARP 2.3's validator lets through, because a browser would drop or misplace
    /// the cookie. YARP itself rejects an Expiration or MaxAge that is not positive.
    /// </summary>
    public static void Validate(string clusterId, SessionAffinityConfig? affinity, List<string> errors)
    {
        if (affinity is not { Enabled: true, Cookie: { } cookie }
            || !string.Equals(affinity.Policy, ClusterCookieAffinityPolicy.PolicyName, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var prefix = $"ReverseProxy:Clusters:{clusterId}:SessionAffinity:Cookie";
        if (cookie.SameSite == SameSiteMode.None && cookie.SecurePolicy == CookieSecurePolicy.None)
        {
            // The storage model of RFC 6265bis tells browsers to ignore a SameSite=None cookie without Secure.
            errors.Add(
                $"{prefix}:SameSite: None requires the Secure attribute, but {prefix}:SecurePolicy is None. " +
                "Set SecurePolicy to Always, or SameSite to Lax or Strict.");
        }

        if (cookie.Path is { } path && !path.StartsWith('/'))
        {
            // Browsers ignore a Path attribute that does not start with '/' and use the request's directory instead.
            errors.Add($"{prefix}:Path: '{path}' does not start with '/'. Set a path such as / or /app.");
        }
    }

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
