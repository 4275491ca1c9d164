using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tandem.Node.Tests.Support;

/// <summary>A throwaway self-signed server certificate for 127.0.0.1 and localhost (or given DNS names), written as PEM files to a temp directory.</summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(string directory, X509Certificate2 certificate)
    {
        Directory = directory;
        Certificate = certificate;
    }

    public string Directory { get; }

    public X509Certificate2 Certificate { get; }

    public string CertificatePath => Path.Combine(Directory, "tls.crt");

    public string KeyPath => Path.Combine(Directory, "tls.key");

    /// <param name="dnsNames">DNS names of the Subject Alternative Name extension; null means <c>localhost</c> only.</param>
    public static TestCertificate Create(
        string subject = "CN=tandem-test",
        bool serverAuthentication = true,
        int validDays = 1,
        IReadOnlyList<string>? dnsNames = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);

        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        foreach (var name in dnsNames ?? ["localhost"])
        {
            names.AddDnsName(name);
        }

        request.CertificateExtensions.Add(names.Build());

        var usage = serverAuthentication ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2";
        request.CertificateExtensions.Add(
            new X509EnhancedKeyUsageExtension([new Oid(usage)], critical: false));

        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(validDays));

        var directory = System.IO.Directory.CreateTempSubdirectory("tandem-cert-").FullName;
        var result = new TestCertificate(directory, certificate);
        File.WriteAllText(result.CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(result.KeyPath, key.ExportPkcs8PrivateKeyPem());
        return result;
    }

    /// <summary>Writes another key to <see cref="KeyPath"/>, so certificate and key no longer match.</summary>
    public void ReplaceKeyWithUnrelatedOne()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(KeyPath, other.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose()
    {
        Certificate.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
