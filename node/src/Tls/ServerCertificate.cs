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

    private ServerCertificate(X509Certificate2 certificate, X509Certificate2Collection intermediates)
    {
        Certificate = certificate;
        Intermediates = intermediates;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Certificates after the first one in the certificate file, sent to clients to complete the chain.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>
    /// Loads the certificate and key. Each problem goes to <paramref name="errors"/> with the setting that names the
    /// file. An expired or not yet valid certificate only goes to <paramref name="warnings"/>, because refusing to
    /// start would not help clients that get the same certificate from the other node.
    /// </summary>
    public static ServerCertificate? Load(
        string certificatePath,
        string keyPath,
        TimeProvider timeProvider,
        List<string> errors,
        List<string> warnings)
    {
        var certificatePem = ReadPemFile("Proxy:CertificatePath", certificatePath, "certificate (chain)", errors);
        var keyPem = ReadPemFile("Proxy:KeyPath", keyPath, "private key", errors);
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
                $"Proxy:CertificatePath: '{certificatePath}' contains an invalid PEM certificate ({exception.Message}). " +
                "Give a file of -----BEGIN CERTIFICATE----- blocks, the server certificate first.");
            return null;
        }

        if (all.Count == 0)
        {
            errors.Add(
                $"Proxy:CertificatePath: '{certificatePath}' contains no PEM certificate. " +
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
                $"Proxy:KeyPath: the key in '{keyPath}' cannot be used with the certificate in '{certificatePath}' " +
                $"({exception.Message}). Give the unencrypted PEM private key (RSA or ECDSA) of the first certificate.");
            return null;
        }

        if (!HasServerAuthentication(certificate))
        {
            errors.Add(
                $"Proxy:CertificatePath: the certificate '{certificate.Subject}' in '{certificatePath}' has an Extended " +
                $"Key Usage without Server Authentication ({ServerAuthenticationOid}), so TLS clients reject it. " +
                "Use a certificate issued for TLS servers.");
            return null;
        }

        var now = timeProvider.GetUtcNow();
        if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            warnings.Add(
                $"Proxy:CertificatePath: the certificate '{certificate.Subject}' expired at {certificate.NotAfter.ToUniversalTime():u}. " +
                "Clients reject it, so replace the files and restart the node.");
        }
        else if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            warnings.Add(
                $"Proxy:CertificatePath: the certificate '{certificate.Subject}' is not valid before {certificate.NotBefore.ToUniversalTime():u}. " +
                "Check the clock of this machine.");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        return new ServerCertificate(certificate, intermediates);
    }

    private static string? ReadPemFile(string setting, string path, string content, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{setting} is missing. Set the path of the PEM {content} file.");
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
