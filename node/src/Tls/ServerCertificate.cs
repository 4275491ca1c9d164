using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tandem.Node.Tls;

/// <summary>
/// The server certificate with its private key and the intermediate certificates sent with it, loaded once at
/// startup from PEM files.
/// </summary>
internal sealed class ServerCertificate
{
    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

    private ServerCertificate(
        X509Certificate2 certificate,
        X509Certificate2Collection intermediates,
        string certificatePath,
        string keyPath,
        string setting)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
        Setting = setting;
        DnsNames = certificate.Extensions
            .OfType<X509SubjectAlternativeNameExtension>()
            .SelectMany(extension => extension.EnumerateDnsNames())
            .ToList();
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Path of the PEM certificate (chain) file, which the OpenSSL engine loads again itself.</summary>
    public string CertificatePath { get; }

    /// <summary>Path of the PEM private key file.</summary>
    public string KeyPath { get; }

    /// <summary>The configuration path that names this certificate, such as <c>Proxy:Certificates:1</c>, for messages.</summary>
    public string Setting { get; }

    /// <summary>The DNS names of the Subject Alternative Name extension, wildcards included, as the certificate spells them.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>Certificates after the first one in the certificate file, sent to clients to complete the chain.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>
    /// Loads the certificate and key. Each problem goes to <paramref name="errors"/> with the setting that names the
    /// file. An expired or not yet valid certificate only goes to <paramref name="warnings"/>, because refusing to
    /// start would not help clients that get the same certificate from the other node.
    /// </summary>
    /// <param name="setting">
    /// The configuration path of the pair: <c>Proxy</c> for <c>Proxy:CertificatePath</c> and <c>Proxy:KeyPath</c>,
    /// or an entry such as <c>Proxy:Certificates:1</c>.
    /// </param>
    public static ServerCertificate? Load(
        string setting,
        string certificatePath,
        string keyPath,
        TimeProvider timeProvider,
        List<string> errors,
        List<string> warnings)
    {
        var certificateSetting = $"{setting}:CertificatePath";
        var keySetting = $"{setting}:KeyPath";
        var certificatePem = ReadPemFile(certificateSetting, certificatePath, "certificate (chain)", errors);
        var keyPem = ReadPemFile(keySetting, keyPath, "private key", errors);
        if (certificatePem is null || keyPem is null)
        {
            return null;
        }

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certificatePem);
        }
        catch (CryptographicException exception)
        {
            errors.Add(
                $"{certificateSetting}: '{certificatePath}' contains an invalid PEM certificate ({exception.Message}). " +
                "Give a file of -----BEGIN CERTIFICATE----- blocks, the server certificate first.");
            return null;
        }

        if (all.Count == 0)
        {
            errors.Add(
                $"{certificateSetting}: '{certificatePath}' contains no PEM certificate. " +
                "Give a file of -----BEGIN CERTIFICATE----- blocks, the server certificate first.");
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            // CreateFromPem pairs the first certificate in the text with the key. It throws ArgumentException when
            // they do not match and CryptographicException when the key is unreadable.
            certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (Exception exception) when (exception is CryptographicException or ArgumentException)
        {
            errors.Add(
                $"{keySetting}: the key in '{keyPath}' cannot be used with the certificate in '{certificatePath}' " +
                $"({exception.Message}). Give the unencrypted PEM private key (RSA or ECDSA) of the server certificate, " +
                $"the first one in the file that {certificateSetting} names.");
            return null;
        }

        if (!HasServerAuthentication(certificate))
        {
            errors.Add(
                $"{certificateSetting}: the certificate '{certificate.Subject}' in '{certificatePath}' has an Extended " +
                $"Key Usage without Server Authentication ({ServerAuthenticationOid}), so TLS clients reject it. " +
                "Use a certificate issued for TLS servers.");
            return null;
        }

        var now = timeProvider.GetUtcNow();
        if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            warnings.Add(
                $"{certificateSetting}: the certificate '{certificate.Subject}' expired at {certificate.NotAfter.ToUniversalTime():u}. " +
                "Clients reject it, so replace the files and restart the node.");
        }
        else if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            warnings.Add(
                $"{certificateSetting}: the certificate '{certificate.Subject}' is not valid before {certificate.NotBefore.ToUniversalTime():u}. " +
                "Check the clock of this machine.");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        return new ServerCertificate(certificate, intermediates, certificatePath, keyPath, setting);
    }

    private static string? ReadPemFile(string setting, string path, string content, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{setting} is missing. Set the path of the PEM {content} file.");
            return null;
        }

        // Reading a directory fails with UnauthorizedAccessException, which would read as a permission problem even
        // for root.
        if (Directory.Exists(path))
        {
            errors.Add($"{setting}: '{path}' is a directory. Set the path of the PEM {content} file.");
            return null;
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            errors.Add($"{setting}: file '{path}' was not found. Check the path, or install the {content} there.");
        }
        catch (DirectoryNotFoundException)
        {
            errors.Add($"{setting}: directory of '{path}' was not found. Check the path, or install the {content} there.");
        }
        catch (UnauthorizedAccessException)
        {
            errors.Add($"{setting}: file '{path}' cannot be read (access denied). Let the node's user read it.");
        }
        catch (IOException exception)
        {
            errors.Add($"{setting}: file '{path}' cannot be read ({exception.Message}). Check the path and the file.");
        }

        return null;
    }

    private static bool HasServerAuthentication(X509Certificate2 certificate)
    {
        var usage = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        if (usage is null)
        {
            // RFC 5280 §4.2.1.12: without the extension, the key may be used for any purpose.
            return true;
        }

        foreach (var oid in usage.EnhancedKeyUsages)
        {
            if (oid.Value == ServerAuthenticationOid)
            {
                return true;
            }
        }

        return false;
    }
}
