using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Tandem.Node.Tests.Support;

/// <summary>The HTTPS client and the affinity request steps that the node end-to-end tests share.</summary>
public static class TestHttp
{
    /// <summary>
    /// Creates a client that trusts only <paramref name="certificate"/>, sends no cookies of its own and times out
    /// after 5 s to connect and 10 s per request. <paramref name="configure"/> may change the handler further.
    /// </summary>
    public static HttpClient CreateClient(TestCertificate certificate, Action<SocketsHttpHandler>? configure = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { certificate.Certificate },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            },
        };
        configure?.Invoke(handler);
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Sends GET /hello to the node on 127.0.0.1:<paramref name="port"/>, with the affinity cookie if given.</summary>
    public static async Task<HttpResponseMessage> GetHelloAsync(HttpClient client, int port, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/hello");
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>Returns the <c>name=value</c> part of the response's only Set-Cookie header.</summary>
    public static string ReadCookie(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Set-Cookie", out var values), "The response has no Set-Cookie header.");
        var setCookie = Assert.Single(values);
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    /// <summary>Returns the name of the <see cref="TestBackend"/> that echoed the response.</summary>
    public static async Task<string> ReadBackendAsync(HttpResponseMessage response) =>
        TestBackend.ParseEcho(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))["Name"];
}
