namespace Tandem.SessionStore;

/// <summary>
/// Storage for affinity pins: which destination of a YARP cluster serves a session id.
/// </summary>
/// <remarks>
/// Implementations never throw for store faults such as a timeout or a lost connection. They return
/// <see cref="AffinityLookupStatus.Unavailable"/> or <see cref="AffinityWriteStatus.Unavailable"/> within a bounded
/// time instead, so a slow or absent store never fails a proxied request. They throw
/// <see cref="OperationCanceledException"/> only when the caller's token is cancelled.
/// </remarks>
public interface IAffinityStore
{
    /// <summary>Short name of the implementation for logs, for example <c>redis</c>.</summary>
    string Name { get; }

    /// <summary>Looks up the destination pinned to <paramref name="sessionId"/> in <paramref name="clusterId"/>.</summary>
    ValueTask<AffinityLookup> GetAsync(string clusterId, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Pins <paramref name="sessionId"/> to <paramref name="destinationId"/>, replacing any earlier pin, until
    /// <paramref name="timeToLive"/> has passed.
    /// </summary>
    ValueTask<AffinityWriteStatus> SetAsync(
        string clusterId,
        string sessionId,
        string destinationId,
        TimeSpan timeToLive,
        CancellationToken cancellationToken);
}

/// <summary>Outcome of <see cref="IAffinityStore.GetAsync"/>.</summary>
public enum AffinityLookupStatus
{
    /// <summary>The session id is pinned, and <see cref="AffinityLookup.DestinationId"/> names the destination.</summary>
    Found,

    /// <summary>The store replied and contains no pin for the session id, because it was never pinned, expired or is forged.</summary>
    NotFound,

    /// <summary>The store did not reply in time or failed, so whether a pin exists is unknown.</summary>
    Unavailable,
}

/// <summary>Outcome of <see cref="IAffinityStore.SetAsync"/>.</summary>
public enum AffinityWriteStatus
{
    Stored,

    /// <summary>The store did not confirm the write in time or failed, so the pin may be missing.</summary>
    Unavailable,
}

/// <summary>Result of a pin lookup.</summary>
public readonly record struct AffinityLookup(AffinityLookupStatus Status, string? DestinationId)
{
    public static AffinityLookup NotFound { get; } = new(AffinityLookupStatus.NotFound, null);

    public static AffinityLookup Unavailable { get; } = new(AffinityLookupStatus.Unavailable, null);

    public static AffinityLookup Found(string destinationId) => new(AffinityLookupStatus.Found, destinationId);
}
