using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tandem.Monitoring.V1;
using Tandem.Node.Monitoring;
using Yarp.ReverseProxy.Model;
using YarpHealth = Yarp.ReverseProxy.Model.DestinationHealth;

namespace Tandem.Node.Tests.Monitoring;

public sealed class NodeStatusCollectorTests
{
    [Theory]
    [InlineData(YarpHealth.Unknown, YarpHealth.Unknown, Tandem.Monitoring.V1.DestinationHealth.Unknown)]
    [InlineData(YarpHealth.Healthy, YarpHealth.Unknown, Tandem.Monitoring.V1.DestinationHealth.Healthy)]
    [InlineData(YarpHealth.Unknown, YarpHealth.Healthy, Tandem.Monitoring.V1.DestinationHealth.Healthy)]
    [InlineData(YarpHealth.Healthy, YarpHealth.Unhealthy, Tandem.Monitoring.V1.DestinationHealth.Unhealthy)]
    [InlineData(YarpHealth.Unhealthy, YarpHealth.Healthy, Tandem.Monitoring.V1.DestinationHealth.Unhealthy)]
    public void Combine_UnhealthyWins(YarpHealth active, YarpHealth passive, Tandem.Monitoring.V1.DestinationHealth expected)
    {
        var health = new DestinationHealthState { Active = active, Passive = passive };

        Assert.Equal(expected, NodeStatusCollector.Combine(health));
    }

    [Fact]
    public void Certificate_DnsNamesAndDaysLeft()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=www.example.com", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("www.example.com");
        names.AddDnsName("example.com");
        request.CertificateExtensions.Add(names.Build());
        var notAfter = new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero);
        using var certificate = request.CreateSelfSigned(notAfter.AddDays(-90), notAfter);

        var status = NodeStatusCollector.CollectCertificate(certificate, notAfter.AddDays(-10).AddHours(-1));
        var expired = NodeStatusCollector.CollectCertificate(certificate, notAfter.AddHours(1));

        Assert.Equal("CN=www.example.com", status.Subject);
        Assert.Equal(["www.example.com", "example.com"], status.DnsNames);
        Assert.Equal(notAfter, status.NotAfter.ToDateTimeOffset());
        Assert.Equal(10, status.DaysLeft);
        Assert.Equal(-1, expired.DaysLeft);
    }
}
