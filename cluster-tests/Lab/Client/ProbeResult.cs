using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tandem.ClusterTests.Lab.Client;

/// <summary>Why a request from the lab client failed.</summary>
public enum ProbeFailure
{
    None,

    /// <summary>No TCP connection within the connect timeout, because no host replied to ARP or to the SYN.</summary>
    ConnectTimeout,

    /// <summary>The peer replied to the SYN with a RST, so the address is up but no process listens on the port.</summary>
    ConnectionRefused,

    /// <summary>The kernel reported no route or an unreachable host.</summary>
    Unreachable,

    /// <summary>The connection was reset or closed during TLS or the request.</summary>
    ConnectionReset,

    /// <summary>The TLS handshake failed, including when the server presented another certificate.</summary>
    TlsFailed,

    /// <summary>Connected, but the whole request did not finish within the request timeout.</summary>
    RequestTimeout,

    /// <summary>The response status was not 2xx.</summary>
    HttpStatus,

    /// <summary>The response body was not the backend's JSON reply.</summary>
    InvalidBody,

    /// <summary>Any other failure; the detail has the exception message.</summary>
    Other,
}

/// <summary>The JSON body that the lab backend returns for every request.</summary>
/// <param name="Peer">The TCP peer the backend saw, which is the proxy node that forwarded the request.</param>
public sealed record BackendReply(
    string Backend,
    string? Peer,
    string? XForwardedFor,
    string? XForwardedProto,
    string? XForwardedHost,
    string? XRealIp)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>The peer as an address, or null when it is missing or not an address.</summary>
    public IPAddress? PeerAddress => IPAddress.TryParse(Peer, out IPAddress? address) ? address : null;

    /// <summary>Parses a reply, returning null when <paramref name="json"/> is not one.</summary>
    public static BackendReply? TryParse(string json)
    {
        try
        {
            BackendReply? reply = JsonSerializer.Deserialize<BackendReply>(json, JsonOptions);
            return string.IsNullOrEmpty(reply?.Backend) ? null : reply;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The outcome of one request from the lab client.</summary>
/// <param name="AffinityCookie">The affinity cookie value the response set, or null when it set none.</param>
public sealed record ProbeResult(
    ProbeFailure Failure,
    string? Detail,
    int? StatusCode,
    BackendReply? Reply,
    string? AffinityCookie,
    TimeSpan Duration)
{
    public bool Succeeded => Failure == ProbeFailure.None;
}
