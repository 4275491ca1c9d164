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
/// client. The new pin is therefore stored before the client can send a second request to the other node.
/// <para>
/// The cookie value is the session id, followed by a dot and a <see cref="DestinationHints">destination hint</see>
/// when the node has a ticket key ring. A pin is looked up in the local cache, then in Redis within
/// <c>SessionStore:OperationTimeoutMilliseconds</c>, then taken from the hint. A cookie or hint that is malformed,
/// forged, expired or names no known pin is treated as absent and counted by reason. A cookie without a hint, as
/// nodes without hints write it, still routes by its pin.
/// </para>
/// </remarks>
internal sealed partial class ClusterCookieAffinityPolicy : ISessionAffinityPolicy
{
    public const string PolicyName = "ClusterCookie";

    // Key in HttpContext.Items for the pin that routed the request.
    private static readonly object PinItemKey = new();

    private readonly AffinityPins _pins;
    private readonly AffinityMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly DestinationHints? _hints;
    private readonly UnhealthyPinPolicy _unhealthyPinPolicy;
    private readonly ILogger _logger;

    public ClusterCookieAffinityPolicy(
        AffinityPins pins,
        AffinityMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        DestinationHints? hints = null,
        ClusterCookieOptions? options = null)
    {
        _pins = pins;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _hints = hints;
        _unhealthyPinPolicy = options?.UnhealthyPinPolicy ?? UnhealthyPinPolicy.Repin;
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
        if (!context.Request.Cookies.TryGetValue(config.AffinityKeyName, out var value) || string.IsNullOrEmpty(value))
        {
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        if (!AffinityCookieValue.TryParse(value, out var sessionId, out var hint))
        {
            Reject(cluster.ClusterId, CookieRejectReason.Malformed, $"{value.Length} characters");
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        var pin = await _pins.LookUpAsync(cluster.ClusterId, sessionId, cancellationToken);
        string pinnedId;
        var fromHint = false;
        switch (pin.Status)
        {
            case AffinityLookupStatus.Found:
                pinnedId = pin.DestinationId!;
                break;
            case AffinityLookupStatus.NotFound:
            case AffinityLookupStatus.Unavailable:
                if (ResolveHint(cluster, sessionId, hint, destinations, out var hintRejection) is not { } hinted)
                {
                    // One request counts once. A rejected hint was the last way to route the session, so its reason is
                    // the more specific one, and the pin lookup status goes to the log only.
                    var reason = hintRejection ?? (pin.Status == AffinityLookupStatus.NotFound
                        ? CookieRejectReason.Unknown
                        : CookieRejectReason.StoreUnavailable);
                    Reject(cluster.ClusterId, reason, $"{SessionId.Redact(sessionId)}, pin lookup {pin.Status}");
                    return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
                }

                pinnedId = hinted;
                fromHint = true;
                _metrics.RecordRoutedByHint();
                Log.RoutedByHint(_logger, cluster.ClusterId, pinnedId, SessionId.Redact(sessionId), pin.Status);
                break;
            default:
                throw new NotSupportedException($"Pin lookup status '{pin.Status}' is not supported.");
        }

        // A cookie without a hint, or with one that the current key does not verify, gets a fresh hint with the response.
        var needsCookie = _hints is not null
            && (hint is null || !_hints.IsCurrent(hint, cluster.ClusterId, sessionId, pinnedId));
        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, pinnedId, StringComparison.Ordinal))
            {
                // A pin from the hint is missing from this node's cache, and maybe from Redis, so it is written again.
                context.Items[PinItemKey] = new RequestPin(sessionId, destination.DestinationId, pin.NeedsRefresh || fromHint, needsCookie);
                if (pin.NeedsWriteBack)
                {
                    _pins.StartWriteBack(cluster.ClusterId, sessionId, destination.DestinationId);
                }

                // A DestinationState is also a read-only list that contains only itself.
                return new AffinityResult(destination, AffinityStatus.OK);
            }
        }

        return HandleUnavailablePin(context, cluster, sessionId, pinnedId, destinations);
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

            if (pin.NeedsCookie)
            {
                AppendCookie(context, cluster.ClusterId, config, pin.SessionId, destination.DestinationId);
            }

            return;
        }

        var sessionId = SessionId.Create();
        await StorePinAsync(cluster.ClusterId, sessionId, destination.DestinationId, cancellationToken);
        _metrics.RecordPinCreated();
        Log.PinCreated(_logger, cluster.ClusterId, destination.DestinationId, SessionId.Redact(sessionId));
        AppendCookie(context, cluster.ClusterId, config, sessionId, destination.DestinationId);
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

    /// <summary>
    /// Applies <c>SessionStore:UnhealthyPinPolicy</c> to a session whose pinned destination is not among the available
    /// <paramref name="destinations"/>, because it is unhealthy or gone from the configuration.
    /// </summary>
    private AffinityResult HandleUnavailablePin(
        HttpContext context,
        ClusterState cluster,
        string sessionId,
        string pinnedId,
        IReadOnlyList<DestinationState> destinations)
    {
        _metrics.RecordPinnedDestinationUnavailable();
        Log.PinnedDestinationUnavailable(_logger, cluster.ClusterId, pinnedId, SessionId.Redact(sessionId), _unhealthyPinPolicy);

        switch (_unhealthyPinPolicy)
        {
            case UnhealthyPinPolicy.Fail:
                // An empty list of available destinations makes YARP 2.3 return 503 without forwarding, and the pin stays
                // for when the destination recovers.
                _metrics.RecordUnhealthyPinRejected();
                Log.UnhealthyPinRejected(_logger, cluster.ClusterId, pinnedId, SessionId.Redact(sessionId));
                return new AffinityResult([], AffinityStatus.OK);

            case UnhealthyPinPolicy.Repin:
                if (RendezvousHash.Pick(sessionId, destinations) is not { } chosen)
                {
                    // No destination is available at all, so the cluster's FailurePolicy decides.
                    return new AffinityResult(null, AffinityStatus.DestinationNotFound);
                }

                context.Items[PinItemKey] = new RequestPin(sessionId, chosen.DestinationId, NeedsRefresh: true, NeedsCookie: true);
                _metrics.RecordRepinned();
                Log.Repinned(_logger, cluster.ClusterId, pinnedId, chosen.DestinationId, SessionId.Redact(sessionId));
                return new AffinityResult(chosen, AffinityStatus.OK);

            default:
                throw new NotSupportedException($"Unhealthy pin policy '{_unhealthyPinPolicy}' is not supported.");
        }
    }

    /// <summary>
    /// Returns the destination id that the cookie's hint names, or null when there is no usable hint. A hint that is
    /// present but unusable sets <paramref name="rejection"/>, which the caller counts.
    /// </summary>
    private string? ResolveHint(
        ClusterState cluster,
        string sessionId,
        string? hint,
        IReadOnlyList<DestinationState> destinations,
        out CookieRejectReason? rejection)
    {
        rejection = null;
        if (hint is null || _hints is null)
        {
            return null;
        }

        // The hint may name an unhealthy destination, which the unhealthy-pin policy then handles, so every destination
        // of the cluster is a candidate, not only the available ones.
        var candidates = cluster.Destinations.Keys
            .Concat(destinations.Select(destination => destination.DestinationId))
            .Distinct(StringComparer.Ordinal);
        var status = _hints.Resolve(cluster.ClusterId, sessionId, hint, candidates, out var destinationId);
        rejection = status switch
        {
            HintStatus.Valid => null,
            HintStatus.Malformed => CookieRejectReason.HintMalformed,
            HintStatus.KeyUnknown => CookieRejectReason.HintKeyUnknown,
            HintStatus.NoMatch => CookieRejectReason.HintNoMatch,
            _ => throw new NotSupportedException($"Hint status '{status}' is not supported."),
        };
        return destinationId;
    }

    private void AppendCookie(HttpContext context, string clusterId, SessionAffinityConfig config, string sessionId, string destinationId)
    {
        var value = _hints is null
            ? sessionId
            : AffinityCookieValue.Format(sessionId, _hints.Create(clusterId, sessionId, destinationId));
        context.Response.Cookies.Append(
            config.AffinityKeyName,
            value,
            AffinityCookieOptions.Create(config.Cookie, context.Request.IsHttps, _timeProvider));
    }

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

    private sealed record RequestPin(string SessionId, string DestinationId, bool NeedsRefresh, bool NeedsCookie);

    private static partial class Log
    {
        // Rejections come from clients, so they go to Debug and are counted in AffinityMetrics.
        [LoggerMessage(EventIds.AffinityCookieRejected, LogLevel.Debug,
            "Affinity cookie for cluster {ClusterId} treated as absent ({Reason}, {Detail}), so the request gets a new pin")]
        public static partial void CookieRejected(ILogger logger, string clusterId, CookieRejectReason reason, string detail);

        [LoggerMessage(EventIds.PinnedDestinationUnavailable, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} is pinned to destination {DestinationId}, which is not " +
            "available, so the unhealthy-pin policy {Policy} applies")]
        public static partial void PinnedDestinationUnavailable(
            ILogger logger,
            string clusterId,
            string destinationId,
            string sessionIdPrefix,
            UnhealthyPinPolicy policy);

        [LoggerMessage(EventIds.PinNotShared, LogLevel.Debug,
            "Pin of session {SessionIdPrefix} to destination {DestinationId} in cluster {ClusterId} was not confirmed " +
            "by the shared store, so only this node has it")]
        public static partial void PinNotShared(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);

        [LoggerMessage(EventIds.PinCreated, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} pinned to destination {DestinationId}")]
        public static partial void PinCreated(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);

        [LoggerMessage(EventIds.RoutedByHint, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} routed to destination {DestinationId} by its cookie's " +
            "hint, because the pin lookup returned {LookupStatus}")]
        public static partial void RoutedByHint(
            ILogger logger,
            string clusterId,
            string destinationId,
            string sessionIdPrefix,
            AffinityLookupStatus lookupStatus);

        [LoggerMessage(EventIds.Repinned, LogLevel.Debug,
            "Session {SessionIdPrefix} of cluster {ClusterId} moved from destination {PreviousDestinationId} to " +
            "{DestinationId}")]
        public static partial void Repinned(
            ILogger logger,
            string clusterId,
            string previousDestinationId,
            string destinationId,
            string sessionIdPrefix);

        [LoggerMessage(EventIds.UnhealthyPinRejected, LogLevel.Debug,
            "Request of session {SessionIdPrefix} of cluster {ClusterId} answered 503, because its destination " +
            "{DestinationId} is not available and SessionStore:UnhealthyPinPolicy is Fail")]
        public static partial void UnhealthyPinRejected(ILogger logger, string clusterId, string destinationId, string sessionIdPrefix);
    }
}

/// <summary>Settings of <see cref="ClusterCookieAffinityPolicy"/> that come from the node's configuration.</summary>
internal sealed record ClusterCookieOptions(UnhealthyPinPolicy UnhealthyPinPolicy);
