namespace Tandem.Node.Forwarding;

/// <summary>Names of the request headers that carry the client's address and scheme through proxies.</summary>
internal static class ForwardedHeaders
{
    public const string XForwardedFor = "X-Forwarded-For";
    public const string XForwardedProto = "X-Forwarded-Proto";
    public const string XForwardedHost = "X-Forwarded-Host";
    public const string XForwardedPrefix = "X-Forwarded-Prefix";
    public const string XRealIp = "X-Real-IP";

    /// <summary>The RFC 7239 header, which carries the same facts in one field.</summary>
    public const string Forwarded = "Forwarded";

    public static IReadOnlyList<string> All { get; } =
        [XForwardedFor, XForwardedProto, XForwardedHost, XForwardedPrefix, XRealIp, Forwarded];
}
