namespace Tandem.SessionStore;

/// <summary>
/// Short-lived heartbeats of the cluster's nodes: each node writes its own with an expiry, and any node reads them
/// all. The payload is opaque to the store.
/// </summary>
/// <remarks>
/// Implementations never throw for store faults. They return false or a <see cref="HeartbeatRead"/> with
/// <see cref="HeartbeatRead.Available"/> false within a bounded time instead, and throw
/// <see cref="OperationCanceledException"/> only when the caller's token is cancelled.
/// </remarks>
public interface IHeartbeatStore
{
    /// <summary>Writes the heartbeat of <paramref name="nodeName"/>, which expires after <paramref name="timeToLive"/>.</summary>
    /// <returns>True when the store confirmed the write in time.</returns>
    ValueTask<bool> PublishAsync(string nodeName, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Removes the heartbeat of <paramref name="nodeName"/>, for a node that stops normally.</summary>
    /// <returns>True when the store confirmed the removal in time.</returns>
    ValueTask<bool> RemoveAsync(string nodeName, CancellationToken cancellationToken);

    /// <summary>Reads every heartbeat that has not expired yet.</summary>
    ValueTask<HeartbeatRead> ReadAllAsync(CancellationToken cancellationToken);
}

/// <summary>One node's heartbeat as read back from the store.</summary>
/// <param name="NodeName">The name the node published under.</param>
/// <param name="Payload">The bytes the node published.</param>
/// <param name="Age">
/// Time since the node wrote the heartbeat, measured on the store's clock so that clock differences between nodes do
/// not matter.
/// </param>
/// <param name="TimeToLive">The expiry the node set when it wrote the heartbeat.</param>
public sealed record Heartbeat(string NodeName, ReadOnlyMemory<byte> Payload, TimeSpan Age, TimeSpan TimeToLive);

/// <summary>Result of <see cref="IHeartbeatStore.ReadAllAsync"/>.</summary>
/// <param name="Available">False when the store did not reply in time or failed, so <see cref="Heartbeats"/> is empty.</param>
/// <param name="Heartbeats">The heartbeats that have not expired, ordered by node name.</param>
/// <param name="Error">Why the store was unavailable, for example <c>Timeout</c>, or null.</param>
public sealed record HeartbeatRead(bool Available, IReadOnlyList<Heartbeat> Heartbeats, string? Error)
{
    public static HeartbeatRead Unavailable(string error) => new(false, [], error);
}
