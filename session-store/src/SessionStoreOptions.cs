using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tandem.SessionStore;

/// <summary>
/// Settings of the affinity store, bound from the node's <c>SessionStore</c> configuration section.
/// </summary>
public sealed class SessionStoreOptions
{
    /// <summary>
    /// StackExchange.Redis configuration string, for example <c>198.51.100.20:6379,password=...</c>.
    /// Empty selects the in-process store, which only one node can use.
    /// </summary>
    public string Redis { get; set; } = "";

    /// <summary>
    /// Path of a PEM or DER file with the certificate authority that issued the Redis server's TLS certificate. Only
    /// with <c>ssl=true</c> in <see cref="Redis"/>. Empty trusts the system's certificate authorities.
    /// </summary>
    public string RedisCaFile { get; set; } = "";

    /// <summary>Prefix of every Redis key this node writes, so several clusters can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "tandem:";

    /// <summary>How long a pin lives after it was last written, in seconds.</summary>
    public int AffinityTtlSeconds { get; set; } = 3600;

    /// <summary>
    /// Maximum time a proxied request waits for one Redis command, in milliseconds. After it the request goes on
    /// without the shared pin.
    /// </summary>
    public int OperationTimeoutMilliseconds { get; set; } = 250;

    /// <summary>Maximum time of one attempt to connect to Redis, in milliseconds.</summary>
    public int ConnectTimeoutMilliseconds { get; set; } = 2000;

    /// <summary>
    /// What the node does when a session's pinned destination is unhealthy or gone: <c>Repin</c> moves the session to
    /// a healthy destination that every node picks alike, <c>Fail</c> responds with 503. The node parses and checks it.
    /// </summary>
    public string UnhealthyPinPolicy { get; set; } = "Repin";

    /// <summary>
    /// Adds an error to <paramref name="errors"/> for each problem of the Redis TLS settings, naming the setting, the
    /// value and the fix. The node checks them at startup, before it connects.
    /// </summary>
    public void ValidateTls(List<string> errors)
    {
        if (RedisCaFile.Length == 0)
        {
            return;
        }

        if (!TryParseSsl(out var ssl) || !ssl)
        {
            errors.Add(
                $"SessionStore:RedisCaFile is '{RedisCaFile}', but SessionStore:Redis does not turn TLS on. Add " +
                "ssl=true to SessionStore:Redis, or remove SessionStore:RedisCaFile.");
        }

        if (!File.Exists(RedisCaFile))
        {
            errors.Add(
                $"SessionStore:RedisCaFile: '{RedisCaFile}' was not found. Set the path of the PEM or DER file with " +
                "the certificate authority that issued the Redis server's certificate.");
            return;
        }

        try
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(RedisCaFile);
        }
        catch (CryptographicException exception)
        {
            errors.Add(
                $"SessionStore:RedisCaFile: '{RedisCaFile}' is not a valid certificate ({exception.Message}). Set a " +
                "file with one PEM or DER certificate.");
        }
    }

    private bool TryParseSsl(out bool ssl)
    {
        try
        {
            ssl = StackExchange.Redis.ConfigurationOptions.Parse(Redis).Ssl;
            return true;
        }
        catch (ArgumentException)
        {
            // The node reports an invalid configuration string on its own.
            ssl = false;
            return false;
        }
    }

    public TimeSpan AffinityTtl => TimeSpan.FromSeconds(AffinityTtlSeconds);

    public TimeSpan OperationTimeout => TimeSpan.FromMilliseconds(OperationTimeoutMilliseconds);
}
