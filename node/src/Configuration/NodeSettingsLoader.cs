using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Tandem.Node.Forwarding;
using Tandem.Node.SessionAffinity;
using Tandem.Node.Tls;
using Tandem.Node.Vrrp.Tracking;
using Tandem.SessionStore;
using Tandem.Vrrp;

namespace Tandem.Node.Configuration;

/// <summary>
/// Binds and checks the <c>Node</c>, <c>Proxy</c>, <c>Vrrp</c> and <c>SessionStore</c> sections. It collects every
/// error instead of stopping at the first, and each message names the setting, the value and the fix.
/// </summary>
/// <remarks>YARP's own validator checks the <c>ReverseProxy</c> section, through <c>ReverseProxyValidation</c>.</remarks>
internal static class NodeSettingsLoader
{
    public const int MaxOperationTimeoutMilliseconds = 10_000;
    public const int MaxConnectTimeoutMilliseconds = 60_000;

    public static NodeSettings? Load(
        IConfiguration configuration,
        TimeProvider timeProvider,
        List<string> errors,
        List<string> warnings) =>
        Load(configuration, timeProvider, errors, warnings, out _);

    /// <summary>
    /// Loads the settings like the overload without <paramref name="proxy"/>, which returns the bound <c>Proxy</c>
    /// section even when there are errors, so that the <c>Management</c> checks can compare ports in the same pass.
    /// </summary>
    public static NodeSettings? Load(
        IConfiguration configuration,
        TimeProvider timeProvider,
        List<string> errors,
        List<string> warnings,
        out ProxyOptions proxy)
    {
        var node = SectionBinder.Bind<NodeOptions>(configuration.GetSection("Node"), errors);
        proxy = SectionBinder.Bind<ProxyOptions>(configuration.GetSection("Proxy"), errors);
        var sessionStore = SectionBinder.Bind<SessionStoreOptions>(configuration.GetSection("SessionStore"), errors);
        var vrrp = LoadVrrp(configuration, errors);
        NodeConditionChecks.ValidatePools(vrrp, configuration, errors);

        var listenAddress = ValidateProxy(proxy, errors);
        var trustedProxies = ParseTrustedProxies(proxy.TrustedProxies, errors);
        ValidateSessionStore(sessionStore, vrrp, errors);
        var certificates = LoadCertificates(proxy, timeProvider, errors, warnings);

        if (errors.Count > 0 || listenAddress is null || certificates is null)
        {
            return null;
        }

        var nodeName = string.IsNullOrWhiteSpace(node.Name) ? Environment.MachineName : node.Name;
        return new NodeSettings(nodeName, proxy, listenAddress, trustedProxies, certificates, vrrp, sessionStore);
    }

    /// <summary>
    /// Binds and checks the <c>Vrrp</c> section. Returns null when VRRP is off: no <c>Vrrp:Routers</c> and an empty
    /// <c>Vrrp:Interface</c>. Other <c>Vrrp</c> settings next to an empty interface are an error, because setting them
    /// shows that VRRP was meant to run.
    /// </summary>
    public static VrrpSettings? LoadVrrp(IConfiguration configuration, List<string> errors) =>
        VrrpSettingsLoader.Load(configuration, errors);

    private static IPAddress? ValidateProxy(ProxyOptions proxy, List<string> errors)
    {
        if (proxy.Port is < 1 or > 65535)
        {
            errors.Add($"Proxy:Port: {proxy.Port} is out of range. Set a TCP port from 1 to 65535.");
        }

        ValidateTls(proxy, errors);

        if (!IPAddress.TryParse(proxy.Address, out var address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            errors.Add(
                $"Proxy:Address: '{proxy.Address}' is not an IP address. Set 0.0.0.0 to listen on every IPv4 address, " +
                ":: for every address, or a specific address such as the virtual address.");
            return null;
        }

        return address;
    }

    private static void ValidateTls(ProxyOptions proxy, List<string> errors)
    {
        if (!Enum.TryParse<TlsEngine>(proxy.TlsEngine, ignoreCase: true, out var engine) || !Enum.IsDefined(engine))
        {
            errors.Add(
                $"Proxy:TlsEngine: '{proxy.TlsEngine}' is not a TLS engine. Set OpenSsl to resume TLS sessions on " +
                "every node of the cluster, or SslStream for .NET's own TLS.");
        }

        if (proxy.TicketKeyRotationSeconds is < 60 or > 604800)
        {
            errors.Add(
                $"Proxy:TicketKeyRotationSeconds: {proxy.TicketKeyRotationSeconds} is out of range. Set how long one " +
                "session-ticket key encrypts new tickets, from 60 to 604800 seconds (one week); 43200 is 12 hours.");
        }

        if (proxy.TicketKeyOverlap is < 1 or > 14)
        {
            errors.Add(
                $"Proxy:TicketKeyOverlap: {proxy.TicketKeyOverlap} is out of range. Set for how many rotation " +
                "intervals an old session-ticket key still decrypts tickets, from 1 to 14.");
        }
    }

    /// <summary>
    /// Loads <c>Proxy:CertificatePath</c> with <c>Proxy:KeyPath</c> when set, then each <c>Proxy:Certificates</c>
    /// entry, in that order, so the first one loaded is the default certificate.
    /// </summary>
    private static ServerCertificateSelector? LoadCertificates(
        ProxyOptions proxy,
        TimeProvider timeProvider,
        List<string> errors,
        List<string> warnings)
    {
        var errorCount = errors.Count;
        var certificates = new List<ServerCertificate>();
        var hasSingle = !string.IsNullOrWhiteSpace(proxy.CertificatePath) || !string.IsNullOrWhiteSpace(proxy.KeyPath);
        if (hasSingle || proxy.Certificates.Count == 0)
        {
            // Without any certificate setting this reports Proxy:CertificatePath and Proxy:KeyPath as missing.
            Add(ServerCertificate.Load("Proxy", proxy.CertificatePath, proxy.KeyPath, timeProvider, errors, warnings));
        }

        for (var i = 0; i < proxy.Certificates.Count; i++)
        {
            var entry = proxy.Certificates[i];
            Add(ServerCertificate.Load($"Proxy:Certificates:{i}", entry.CertificatePath, entry.KeyPath, timeProvider, errors, warnings));
        }

        return errors.Count > errorCount || certificates.Count == 0
            ? null
            : new ServerCertificateSelector(certificates, warnings);

        void Add(ServerCertificate? certificate)
        {
            if (certificate is not null)
            {
                certificates.Add(certificate);
            }
        }
    }

    private static TrustedProxyList ParseTrustedProxies(List<string> entries, List<string> errors)
    {
        var networks = new List<IPNetwork>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i].Trim();
            if (!AddressPrefix.TryParse(entry, allowBareAddress: true, out var prefix))
            {
                errors.Add(
                    $"Proxy:TrustedProxies:{i}: '{entry}' is not a network in CIDR notation. " +
                    "Write an address and prefix length, for example 203.0.113.0/24, or a single address.");
                continue;
            }

            if (!prefix.IsNetworkAddress)
            {
                errors.Add(
                    $"Proxy:TrustedProxies:{i}: '{entry}' has host bits set, so it is unclear whether one address or " +
                    $"the network is meant. Write {prefix.ToNetwork()} for the network or {prefix.Address} for the address.");
                continue;
            }

            networks.Add(prefix.ToNetwork());
        }

        return new TrustedProxyList(networks);
    }

    private static void ValidateSessionStore(SessionStoreOptions store, VrrpSettings? vrrp, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(store.Redis))
        {
            if (vrrp is not null)
            {
                errors.Add(
                    $"SessionStore:Redis is empty, but VRRP is on (Vrrp:Interface '{vrrp.Routers[0].Options.Interface}'). Nodes of a " +
                    "cluster need a shared store so affinity pins survive a failover. Set SessionStore:Redis to the " +
                    "shared Redis, for example 198.51.100.20:6379.");
            }
        }
        else
        {
            ValidateRedisConfiguration(store.Redis, errors);
        }

        store.ValidateTls(errors);

        if (!Enum.TryParse<UnhealthyPinPolicy>(store.UnhealthyPinPolicy, ignoreCase: true, out var policy) || !Enum.IsDefined(policy))
        {
            errors.Add(
                $"SessionStore:UnhealthyPinPolicy: '{store.UnhealthyPinPolicy}' is not a policy. Set Repin to move a " +
                "session whose destination is unhealthy to a healthy one, or Fail to answer 503 until it recovers.");
        }

        if (store.AffinityTtlSeconds < 1)
        {
            errors.Add(
                $"SessionStore:AffinityTtlSeconds: {store.AffinityTtlSeconds} is out of range. Set how long an idle " +
                "session keeps its destination, in seconds, for example 3600.");
        }

        if (store.OperationTimeoutMilliseconds is < 1 or > MaxOperationTimeoutMilliseconds)
        {
            errors.Add(
                $"SessionStore:OperationTimeoutMilliseconds: {store.OperationTimeoutMilliseconds} is out of range. " +
                $"Set 1 to {MaxOperationTimeoutMilliseconds}, because each proxied request may wait this long for Redis.");
        }

        if (store.ConnectTimeoutMilliseconds is < 1 or > MaxConnectTimeoutMilliseconds)
        {
            errors.Add(
                $"SessionStore:ConnectTimeoutMilliseconds: {store.ConnectTimeoutMilliseconds} is out of range. " +
                $"Set 1 to {MaxConnectTimeoutMilliseconds}.");
        }
    }

    private static void ValidateRedisConfiguration(string redis, List<string> errors)
    {
        // The value may contain a password, so messages never repeat it.
        StackExchange.Redis.ConfigurationOptions parsed;
        try
        {
            parsed = StackExchange.Redis.ConfigurationOptions.Parse(redis);
        }
        catch (ArgumentException exception)
        {
            errors.Add(
                $"SessionStore:Redis: the configuration string is invalid ({exception.Message}). Use the " +
                "StackExchange.Redis format host:port[,option=value...], for example 198.51.100.20:6379.");
            return;
        }

        if (parsed.EndPoints.Count == 0)
        {
            errors.Add(
                "SessionStore:Redis names no Redis endpoint. Start the configuration string with host:port, " +
                "for example 198.51.100.20:6379.");
        }
    }
}
