using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Tandem.Node.Configuration;

namespace Tandem.Node.Monitoring;

/// <summary>The <c>Management</c> section after validation. Null from <see cref="Load"/> means the listener is off.</summary>
internal sealed record ManagementSettings(IPAddress Address, int Port, int MetricsPort, IReadOnlyList<IPNetwork> AllowedNetworks)
{
    public const string SectionName = "Management";

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan HeartbeatTtl { get; init; } = TimeSpan.FromSeconds(5);

    public int CertificateExpiryWarningDays { get; init; } = 14;

    /// <summary>True when <paramref name="client"/> is inside one of <see cref="AllowedNetworks"/>.</summary>
    public bool IsAllowed(IPAddress? client)
    {
        if (client is null)
        {
            return false;
        }

        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d, which no IPv4 network contains.
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        foreach (var network in AllowedNetworks)
        {
            if (network.Contains(client))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Binds and checks the <c>Management</c> section, adding every error to <paramref name="errors"/>. Returns null
    /// when there are errors or when <c>Management:Port</c> is 0.
    /// </summary>
    public static ManagementSettings? Load(IConfiguration configuration, int proxyPort, List<string> errors)
    {
        var options = SectionBinder.Bind<ManagementOptions>(configuration.GetSection(SectionName), errors);
        var errorCount = errors.Count;

        if (options.Port is < 0 or > 65535)
        {
            errors.Add(
                $"Management:Port: {options.Port} is out of range. Set a TCP port from 1 to 65535, " +
                "or 0 to turn the management listener off.");
        }
        else if (options.Port != 0 && options.Port == proxyPort)
        {
            errors.Add(
                $"Management:Port: {options.Port} is also Proxy:Port. Set another port for the management listener, " +
                "for example 9901, or 0 to turn it off.");
        }

        if (options.MetricsPort is < 0 or > 65535)
        {
            errors.Add(
                $"Management:MetricsPort: {options.MetricsPort} is out of range. Set a TCP port from 1 to 65535, " +
                "or 0 to serve /metrics only over HTTP/2 on Management:Port.");
        }
        else if (options.MetricsPort != 0 && (options.MetricsPort == options.Port || options.MetricsPort == proxyPort))
        {
            errors.Add(
                $"Management:MetricsPort: {options.MetricsPort} is also Management:Port or Proxy:Port. Set a port of " +
                "its own, for example 9902, or 0 to turn the HTTP/1.1 metrics listener off.");
        }

        if (!IPAddress.TryParse(options.Address, out var address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            errors.Add(
                $"Management:Address: '{options.Address}' is not an IP address. Set 127.0.0.1 to stay on loopback, " +
                "or the node's own address, such as 198.51.100.11, for remote monitoring.");
        }

        var networks = new List<IPNetwork>();
        for (var i = 0; i < options.AllowedNetworks.Count; i++)
        {
            var entry = options.AllowedNetworks[i].Trim();
            if (!AddressPrefix.TryParse(entry, allowBareAddress: true, out var prefix))
            {
                errors.Add(
                    $"Management:AllowedNetworks:{i}: '{entry}' is not a network in CIDR notation. " +
                    "Write an address and prefix length, for example 198.51.100.0/24, or a single address.");
                continue;
            }

            if (!prefix.IsNetworkAddress)
            {
                errors.Add(
                    $"Management:AllowedNetworks:{i}: '{entry}' has host bits set, so it is unclear whether one address " +
                    $"or the network is meant. Write {prefix.ToNetwork()} for the network or {prefix.Address} for the address.");
                continue;
            }

            networks.Add(prefix.ToNetwork());
        }

        CheckHeartbeatAndCertificate(options, errors);

        if (errors.Count > errorCount || address is null || options.Port == 0)
        {
            return null;
        }

        return new ManagementSettings(address, options.Port, options.MetricsPort, networks)
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(options.HeartbeatIntervalMilliseconds),
            HeartbeatTtl = TimeSpan.FromMilliseconds(options.HeartbeatTtlMilliseconds),
            CertificateExpiryWarningDays = options.CertificateExpiryWarningDays,
        };
    }

    private static void CheckHeartbeatAndCertificate(ManagementOptions options, List<string> errors)
    {
        if (options.HeartbeatIntervalMilliseconds is < 100 or > 60_000)
        {
            errors.Add(
                $"Management:HeartbeatIntervalMilliseconds: {options.HeartbeatIntervalMilliseconds} is out of range. " +
                "Set milliseconds from 100 to 60000, for example 1000.");
        }
        else if (options.HeartbeatTtlMilliseconds < 2 * options.HeartbeatIntervalMilliseconds
            || options.HeartbeatTtlMilliseconds > 600_000)
        {
            // With a TTL below two intervals, one late heartbeat would drop a running node from the cluster view.
            errors.Add(
                $"Management:HeartbeatTtlMilliseconds: {options.HeartbeatTtlMilliseconds} is out of range. Set " +
                $"milliseconds from twice Management:HeartbeatIntervalMilliseconds ({2 * options.HeartbeatIntervalMilliseconds}) " +
                "to 600000, for example five intervals.");
        }

        if (options.CertificateExpiryWarningDays is < 0 or > 3650)
        {
            errors.Add(
                $"Management:CertificateExpiryWarningDays: {options.CertificateExpiryWarningDays} is out of range. " +
                "Set days from 0 to 3650, for example 14, or 0 to warn only in the last day before expiry.");
        }
    }
}
