namespace Tandem.Node.Monitoring;

/// <summary>The management listener for gRPC monitoring and metrics, bound from the <c>Management</c> section.</summary>
public sealed class ManagementOptions
{
    /// <summary>Listen address. The default keeps the listener on loopback.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the plain-text HTTP/2 listener. 0 turns the listener off.</summary>
    public int Port { get; set; } = 9901;

    /// <summary>
    /// TCP port of a plain-text HTTP/1.1 listener on the same address that serves only <c>/metrics</c>, for
    /// Prometheus. 0 turns it off; <c>/metrics</c> then stays available over HTTP/2 on <see cref="Port"/>.
    /// </summary>
    public int MetricsPort { get; set; } = 9902;

    /// <summary>Networks in CIDR notation, or single addresses, whose clients may call the NodeMonitor service.</summary>
    public List<string> AllowedNetworks { get; set; } = ["127.0.0.0/8", "::1/128"];

    /// <summary>
    /// Absolute path of a file, readable only by its owner, whose one line is the bearer token of the NodeControl
    /// service. Empty turns control calls off. Read by Tandem.Node.Control.ControlToken.
    /// </summary>
    public string ControlTokenFile { get; set; } = "";

    /// <summary>Period of the heartbeat that publishes this node's status to the session store, in milliseconds.</summary>
    public int HeartbeatIntervalMilliseconds { get; set; } = 1000;

    /// <summary>Expiry of each heartbeat in the session store, in milliseconds. At least twice the interval.</summary>
    public int HeartbeatTtlMilliseconds { get; set; } = 5000;

    /// <summary>Days before the certificate's expiry from which Watch streams get a certificate_expiring event.</summary>
    public int CertificateExpiryWarningDays { get; set; } = 14;
}
