using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Tandem.ClusterTests.Lab.Certificates;
using Tandem.ClusterTests.Lab.Native;
using Tandem.ClusterTests.Lab.Network;

namespace Tandem.ClusterTests.Lab.Client;

/// <summary>Time limits for one client request.</summary>
/// <param name="Connect">The limit on the TCP handshake alone.</param>
/// <param name="Total">The limit on the whole request, from connect to the end of the body.</param>
public sealed record LabClientTimeouts(TimeSpan Connect, TimeSpan Total)
{
    public static LabClientTimeouts Default { get; } = new(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(1));
}

/// <summary>
/// Sends HTTP and HTTPS requests from the client namespace. Every request opens a new connection,
/// so a dead node never holds on to a pooled one, and fails fast within <see cref="LabClientTimeouts"/>.
/// Only a <see cref="PooledHttpsClient"/> from <see cref="CreatePooledHttpsClient"/> keeps connections open.
/// HTTPS trusts exactly the lab certificate and checks that it names <see cref="LabTopology.ServiceHostName"/>.
/// </summary>
public sealed class LabHttpClient(NamespaceSocketFactory sockets, LabCertificate certificate, LabClientTimeouts timeouts, TimeProvider timeProvider)
{
    public const string AffinityCookieName = "Tandem.Affinity";

    public LabClientTimeouts Timeouts => timeouts;

    /// <summary>Sends GET https://demo.tandem.test/PATH over a connection to <paramref name="target"/>.</summary>
    /// <param name="headers">Extra request headers, such as forged forwarding headers.</param>
    public Task<ProbeResult> GetHttpsAsync(
        IPEndPoint target, string path, string? affinityCookie, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? headers = null) =>
        SendAsync(new Uri($"https://{LabTopology.ServiceHostName}{path}"), target, affinityCookie, cancellationToken, headers);

    /// <summary>Sends GET http://ADDRESS:PORT/PATH in plain HTTP, as used to reach a backend directly.</summary>
    public Task<ProbeResult> GetHttpAsync(IPEndPoint target, string path, CancellationToken cancellationToken) =>
        SendAsync(new Uri($"http://{target}{path}"), target, affinityCookie: null, cancellationToken);

    /// <summary>Opens a TCP connection to <paramref name="target"/> from the client namespace.</summary>
    public async Task<Socket> ConnectAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        Socket socket = await sockets.CreateTcpSocketAsync();
        try
        {
            socket.NoDelay = true;
            using var connectDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectDeadline.CancelAfter(timeouts.Connect);
            try
            {
                await socket.ConnectAsync(target, connectDeadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"TCP connect to {target} timed out after {timeouts.Connect.TotalMilliseconds:0} ms.");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a client that sends HTTPS requests to <paramref name="target"/> over at most
    /// <paramref name="maxConnections"/> kept-alive connections, for load in which the TLS handshake is not under test.
    /// </summary>
    public PooledHttpsClient CreatePooledHttpsClient(IPEndPoint target, int maxConnections)
    {
        SocketsHttpHandler handler = CreateHandler(target);
        handler.PooledConnectionLifetime = Timeout.InfiniteTimeSpan;
        handler.MaxConnectionsPerServer = maxConnections;
        return new PooledHttpsClient(this, new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan });
    }

    private async Task<ProbeResult> SendAsync(
        Uri uri, IPEndPoint target, string? affinityCookie, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var handler = CreateHandler(target);
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        return await SendWithAsync(client, uri, affinityCookie, closeConnection: true, cancellationToken, headers);
    }

    internal async Task<ProbeResult> SendWithAsync(
        HttpClient client, Uri uri, string? affinityCookie, bool closeConnection, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        long start = timeProvider.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.ConnectionClose = closeConnection;
        if (affinityCookie is not null)
        {
            request.Headers.Add("Cookie", $"{AffinityCookieName}={affinityCookie}");
        }

        foreach ((string name, string value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeouts.Total);
        try
        {
            using HttpResponseMessage response = await client.SendAsync(request, deadline.Token);
            string body = await response.Content.ReadAsStringAsync(deadline.Token);
            TimeSpan duration = timeProvider.GetElapsedTime(start);
            string? cookie = FindAffinityCookie(response.Headers);
            int status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                return new ProbeResult(ProbeFailure.HttpStatus, $"HTTP {status}", status, null, cookie, duration);
            }

            BackendReply? reply = BackendReply.TryParse(body);
            return reply is null
                ? new ProbeResult(ProbeFailure.InvalidBody, $"Unexpected body: {Truncate(body)}", status, null, cookie, duration)
                : new ProbeResult(ProbeFailure.None, null, status, reply, cookie, duration);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(ProbeFailure.RequestTimeout, $"No complete response within {timeouts.Total.TotalMilliseconds:0} ms.", start);
        }
        catch (HttpRequestException exception)
        {
            (ProbeFailure failure, string detail) = Classify(exception);
            return Failed(failure, detail, start);
        }
    }

    private SocketsHttpHandler CreateHandler(IPEndPoint target) => new()
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectTimeout = timeouts.Total,
        ConnectCallback = async (_, cancellationToken) =>
        {
            // The request names the service host; the connection goes to the address under test.
            Socket socket = await ConnectAsync(target, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            TargetHost = LabTopology.ServiceHostName,
            RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                certificate.Matches(presented)
                && (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) == 0,
        },
    };

    private ProbeResult Failed(ProbeFailure failure, string detail, long start) =>
        new(failure, detail, null, null, null, timeProvider.GetElapsedTime(start));

    internal static (ProbeFailure Failure, string Detail) Classify(HttpRequestException exception)
    {
        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case TimeoutException:
                    return (ProbeFailure.ConnectTimeout, inner.Message);
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return (ProbeFailure.ConnectionRefused, inner.Message);
                case SocketException { SocketErrorCode: SocketError.HostUnreachable or SocketError.NetworkUnreachable }:
                    return (ProbeFailure.Unreachable, inner.Message);
                case SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted }:
                    return (ProbeFailure.ConnectionReset, inner.Message);
                case AuthenticationException:
                    return (ProbeFailure.TlsFailed, inner.Message);
                case IOException when inner.InnerException is null:
                    return (ProbeFailure.ConnectionReset, inner.Message);
            }
        }

        return (ProbeFailure.Other, exception.Message);
    }

    private static string? FindAffinityCookie(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Set-Cookie", out IEnumerable<string>? values))
        {
            return null;
        }

        string prefix = $"{AffinityCookieName}=";
        foreach (string value in values)
        {
            if (value.StartsWith(prefix, StringComparison.Ordinal))
            {
                int end = value.IndexOf(';');
                return end < 0 ? value[prefix.Length..] : value[prefix.Length..end];
            }
        }

        return null;
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : $"{text[..200]}...";
}

/// <summary>
/// An HTTPS client of <see cref="LabHttpClient"/> that keeps its connections open between requests, with the same
/// certificate check, time limits and result classification.
/// </summary>
public sealed class PooledHttpsClient : IDisposable
{
    private readonly LabHttpClient _owner;
    private readonly HttpClient _client;

    internal PooledHttpsClient(LabHttpClient owner, HttpClient client)
    {
        _owner = owner;
        _client = client;
    }

    /// <summary>Sends GET https://demo.tandem.test/PATH over one of the open connections, or a new one.</summary>
    public Task<ProbeResult> GetAsync(string path, string? affinityCookie, CancellationToken cancellationToken) =>
        _owner.SendWithAsync(
            _client, new Uri($"https://{LabTopology.ServiceHostName}{path}"), affinityCookie, closeConnection: false, cancellationToken);

    public void Dispose() => _client.Dispose();
}
