using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tandem.ClusterTests.Lab.Certificates;

/// <summary>
/// A throwaway self-signed server certificate made for one lab run and written as PEM into the
/// run directory. The client trusts exactly this certificate and nothing else.
/// </summary>
public sealed class LabCertificate : IDisposable
{
    private LabCertificate(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        Certificate = certificate;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
    }

    /// <summary>The certificate without its private key, as the client sees it.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePath { get; }

    /// <summary>The PKCS#8 private key, readable by its owner only (mode 0600).</summary>
    public string KeyPath { get; }

    /// <summary>Creates an ECDSA P-256 certificate for <paramref name="hostName"/> and <paramref name="address"/>, valid for one day.</summary>
    public static LabCertificate Create(string directory, string hostName, IPAddress address, TimeProvider timeProvider)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256);

        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostName);
        names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        DateTimeOffset now = timeProvider.GetUtcNow();
        using X509Certificate2 withKey = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        string certificatePath = Path.Combine(directory, "tls.crt");
        string keyPath = Path.Combine(directory, "tls.key");
        File.WriteAllText(certificatePath, withKey.ExportCertificatePem());

        var keyFileOptions = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var keyFile = new StreamWriter(keyPath, keyFileOptions))
        {
            keyFile.Write(key.ExportPkcs8PrivateKeyPem());
        }

        var publicOnly = X509CertificateLoader.LoadCertificate(withKey.RawData);
        return new LabCertificate(publicOnly, certificatePath, keyPath);
    }

    /// <summary>Returns whether <paramref name="presented"/> is this exact certificate.</summary>
    public bool Matches(X509Certificate? presented) =>
        presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData);

    public void Dispose() => Certificate.Dispose();
}
