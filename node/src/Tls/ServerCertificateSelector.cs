namespace Tandem.Node.Tls;

/// <summary>
/// Picks the server certificate for a TLS server name (SNI, RFC 6066 §3) from the DNS names in each certificate's
/// Subject Alternative Name extension. Both TLS engines use it, so they serve the same certificate for a name.
/// </summary>
/// <remarks>
/// An exact name wins over a wildcard. A wildcard <c>*.example.test</c> matches one whole label, so it matches
/// <c>www.example.test</c> but neither <c>example.test</c> nor <c>a.www.example.test</c> (RFC 6125 §6.4.3). The first
/// certificate is the default, served when the client sends no server name or one that no certificate names, as
/// HAProxy serves its first <c>crt</c>. When two certificates name the same DNS name, the one listed first serves it.
/// </remarks>
internal sealed class ServerCertificateSelector
{
    private readonly Dictionary<string, int> _exactNames = new(StringComparer.OrdinalIgnoreCase);

    // Keyed by the part after "*.", for example "example.test" for "*.example.test".
    private readonly Dictionary<string, int> _wildcardParents = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Builds the lookup tables. A name that an earlier certificate already claims goes to <paramref name="warnings"/>
    /// and stays with the earlier certificate. That is a warning and not an error, because a renewal may list the old
    /// and the new certificate side by side for a while.
    /// </summary>
    public ServerCertificateSelector(IReadOnlyList<ServerCertificate> certificates, List<string> warnings)
    {
        ArgumentOutOfRangeException.ThrowIfZero(certificates.Count);
        Certificates = certificates;

        for (var index = 0; index < certificates.Count; index++)
        {
            foreach (var name in certificates[index].DnsNames)
            {
                var (table, key) = name.StartsWith("*.", StringComparison.Ordinal)
                    ? (_wildcardParents, name[2..])
                    : (_exactNames, name);
                if (!table.TryAdd(key, index))
                {
                    var owner = certificates[table[key]];
                    warnings.Add(
                        $"{certificates[index].Setting}: the DNS name '{name}' of '{certificates[index].Certificate.Subject}' " +
                        $"is also in '{owner.Certificate.Subject}' ({owner.Setting}), which is listed first and serves it. " +
                        "Remove one of the two certificates once a renewal is complete.");
                }
            }
        }
    }

    /// <summary>Every certificate in configuration order; the first is the default.</summary>
    public IReadOnlyList<ServerCertificate> Certificates { get; }

    public ServerCertificate Default => Certificates[0];

    /// <summary>
    /// Returns the index in <see cref="Certificates"/> of the certificate for <paramref name="serverName"/>, or 0,
    /// the default, when the name is null, empty or named by no certificate.
    /// </summary>
    public int SelectIndex(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName) || Certificates.Count == 1)
        {
            return 0;
        }

        // RFC 6066 §3: the name has no trailing dot, but some clients send one anyway.
        var name = serverName.EndsWith('.') ? serverName[..^1] : serverName;
        if (_exactNames.TryGetValue(name, out var exact))
        {
            return exact;
        }

        var firstDot = name.IndexOf('.', StringComparison.Ordinal);
        if (firstDot > 0 && _wildcardParents.TryGetValue(name[(firstDot + 1)..], out var wildcard))
        {
            return wildcard;
        }

        return 0;
    }

    public ServerCertificate Select(string? serverName) => Certificates[SelectIndex(serverName)];
}
