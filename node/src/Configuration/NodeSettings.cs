using System.Net;
using Tandem.Node.Forwarding;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tls;
using Tandem.SessionStore;

namespace Tandem.Node.Configuration;

/// <summary>The node's configuration after validation, with addresses parsed and the certificates loaded.</summary>
internal sealed record NodeSettings(
    string NodeName,
    ProxyOptions Proxy,
    IPAddress ListenAddress,
    TrustedProxyList TrustedProxies,
    ServerCertificateSelector Certificates,
    VrrpSettings? Vrrp,
    SessionStoreOptions SessionStore)
{
    /// <summary>The default certificate, served when the client's server name (SNI) matches no certificate.</summary>
    public ServerCertificate Certificate => Certificates.Default;

    public bool VrrpEnabled => Vrrp is not null;

    public bool UsesRedis => !string.IsNullOrWhiteSpace(SessionStore.Redis);

    /// <summary>The unhealthy-pin policy of the affinity cookie; the loader has checked that the setting names one.</summary>
    public UnhealthyPinPolicy UnhealthyPinPolicy => Enum.Parse<UnhealthyPinPolicy>(SessionStore.UnhealthyPinPolicy, ignoreCase: true);

    /// <summary>The TLS engine of the proxy listener; the loader has checked that the setting names one.</summary>
    public TlsEngine TlsEngine => Enum.Parse<TlsEngine>(Proxy.TlsEngine, ignoreCase: true);
}

/// <summary>Every error found in the configuration, in the order the checks ran, and the warnings found with them.</summary>
internal sealed class InvalidNodeConfigurationException(IReadOnlyList<string> errors, IReadOnlyList<string> warnings)
    : Exception($"The configuration has {errors.Count} error(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}")
{
    public IReadOnlyList<string> Errors { get; } = errors;

    public IReadOnlyList<string> Warnings { get; } = warnings;
}
