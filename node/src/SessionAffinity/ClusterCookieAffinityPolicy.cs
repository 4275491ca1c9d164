using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tandem.Node.Logging;
using Tandem.SessionStore;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// YARP session affinity policy <c>ClusterCookie</c>. The cookie carries an opaque random session id, and the
/// session-to-destination pin lives in the session store, so every node of the cluster routes the session alike.
/// </summary>
/// <remarks>
/// YARP 2.3 calls <see cref="FindAffinitizedDestinationsAsync"/> from its affinity middleware and
/// <see cref="AffinitizeResponseAsync"/> from a response transform, which runs before the response headers go to the
/// client. The new pin is therefore stored before the client can send a second request to the other node. A cookie
/// that is malformed or names no known pin is treated as absent and counted by reason.
/// </remarks>
internal sealed partial class ClusterCookieAffinityPolicy : ISessionAffinityPolicy
{
    public const string PolicyName = "ClusterCookie";

    // Key in HttpContext.Items for the pin that routed the request.
    private static readonly object PinItemKey = new();

    private readonly AffinityPins _pins;
    private readonly AffinityMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public ClusterCookieAffinityPolicy(
        AffinityPins pins,
        AffinityMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        _pins = pins;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("Tandem.Node.SessionAffinity");
    }

    public string Name => PolicyName;

    public async ValueTask<AffinityResult> FindAffinitizedDestinationsAsync(
        HttpContext context,
        ClusterState cluster,
        SessionAffinityConfig config,
        IReadOnlyList<DestinationState> destinations,
        CancellationToken cancellationToken)
    {
        if (!context.Request.Cookies.TryGetValue(config.AffinityKeyName, out var sessionId) || string.IsNullOrEmpty(sessionId))
        {
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        if (!SessionId.IsWellFormed(sessionId))
        {
            Reject(cluster.ClusterId, CookieRejectReason.Malformed, $"{sessionId.Length} characters");
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        var pin = await _pins.LookUpAsync(cluster.ClusterId, sessionId, cancellationToken);
        switch (pin.Status)
        {
            case AffinityLookupStatus.Found:
                break;
            case AffinityLookupStatus.NotFound:
                Reject(cluster.ClusterId, CookieRejectReason.Unknown, SessionId.Redact(sessionId));
                return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
            case AffinityLookupStatus.Unavailable:
                Reject(cluster.ClusterId, CookieRejectReason.StoreUnavailable, SessionId.Redact(sessionId));
                return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
            default:
                throw new NotSupportedException($"Pin lookup status '{pin.Status}' is not supported.");
        }

        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, pin.DestinationId, StringComparison.Ordinal))
            {
                context.Items[PinItemKey] = new RequestPin(sessionId, destination.DestinationId, pin.NeedsRefresh);
                if (pin.NeedsWriteBack)
                {
                    _pins.StartWriteBack(cluster.ClusterId, sessionId, destination.DestinationId);
                }

                // A DestinationState is also a read-only list that contains only itself.
                return new AffinityResult(destination, AffinityStatus.OK);
            }
        }

        // The pinned destination is unhealthy or gone from the configuration. The cluster's FailurePolicy decides:
        // Redistribute (the default) picks another destination, and the response then carries a new pin.
        _metrics.RecordPinnedDestinationUnavailable();
        Log.PinnedDestinationUnavailable(_logger, cluster.ClusterId, pin.DestinationId!, SessionId.Redact(sessionId));
        return new AffinityResult(null, AffinityStatus.DestinationNotFound);
    }

    public async ValueTask AffinitizeResponseAsync(
        HttpContext context,
        ClusterState cluster,
        SessionAffinityConfig config,
        DestinationState destination,
        CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            // The client has disconnected, so no one would receive the cookie.
            return;
        }

        if (context.Features.Get<IForwarderErrorFeature>() is not null)
        {
            // YARP reached no destination, or lost it mid-response, and generated the response itself. It calls
            // response transforms, this one included, after it records the error, so a failed forward pins nothing.
            return;
        }

        if (context.Items.TryGetValue(PinItemKey, out var item)
            && item is RequestPin pin
            && string.Equals(pin.DestinationId, destination.DestinationId, StringComparison.Ordinal))
        {
            if (pin.NeedsRefresh)
            {
                await StorePinAsync(cluster.ClusterId, pin.SessionId, destination.DestinationId, cancellationToken);
            }

            return;
        }

        var sessionId = SessionId.Create();
        await StorePinAsync(cluster.ClusterId, sessionId, destination.DestinationId, cancellationToken);
        _metrics.RecordPinCreated();
        Log.PinCreated(_logger, cluster.ClusterId, destination.DestinationId, SessionId.Redact(sessionId));

        context.Response.Cookies.Append(
            config.AffinityKeyName,
            sessionId,
            AffinityCookieOptions.Create(config.Cookie, context.Request.IsHttps, _timeProvider));
    }

    public AffinityResult FindAffinitizedDestinations(
        HttpContext context,
        ClusterState cluster,
        SessionAffinityConfig config,
        IReadOnlyList<DestinationState> destinations) =>
        throw new NotSupportedException(
            $"The {PolicyName} policy looks pins up in a remote store. Call {nameof(FindAffinitizedDestinationsAsync)}.");

    public void AffinitizeResponse(
        HttpContext context,
        ClusterState cluster,
        SessionAffinityConfig config,
        DestinationState destination) =>
        throw new NotSupportedException(
            $"The {PolicyName} policy writes pins to a remote store. Call {nameof(AffinitizeResponseAsync)}.");

    private async ValueTask StorePinAsync(string clusterId, string sessionId, string destinationId, CancellationToken cancellationToken)
    {
        // The store bounds its own wait (SessionStore:OperationTimeoutMilliseconds) and returns failures as a status
        // instead of throwing, so a slow Redis delays this response by at most that bound and does not fail it.
        if (!await _pins.StoreAsync(clusterId, sessionId, destinationId, cancellationToken))
        {
            _metrics.RecordPinNotShared();
            Log.PinNotShared(_logger, clusterId, destinationId, SessionId.Redact(sessionId));
        }
    }

    private void Reject(string clusterId, CookieRejectReason reason, string detail)
    {
        _metrics.RecordCookieRejected(reason);
        Log.CookieRejected(_logger, clusterId, reason, detail);
    }

    private sealed record RequestPin(string SessionId, string DestinationId, bool NeedsRefresh);

    private static partial class Log
    {
        // Rejections come from clients, so they go to Debug and are counted in AffinityMetrics.
        [LoggerMessage(EventIds.AffinityCookieRejected, LogLevel.Debug,
            "Affinity cookie for cluster {ClusterId} treated as absent ({Reason}, {Detail}), so the request gets a new pin")]
        public static partial void CookieRejected(ILogger logger, string clusterId, CookieRejectReason reason, string detail);

        [LoggerMessage(EventIds.PinnedDestinationUnavailable, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} is pinned to destination {DestinationId}, which is not " +
            "available, so the cluster's FailurePolicy handles the request")]
        public static partial void PinnedDestinationUnavailable(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);

        [LoggerMessage(EventIds.PinNotShared, LogLevel.Debug,
            "Pin of session {SessionIdPrefix} to destination {DestinationId} in cluster {ClusterId} was not confirmed " +
            "by the shared store, so only this node has it")]
        public static partial void PinNotShared(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);

        [LoggerMessage(EventIds.PinCreated, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} pinned to destination {DestinationId}")]
        public static partial void PinCreated(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);
    }
}
