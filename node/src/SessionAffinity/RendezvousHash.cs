using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Yarp.ReverseProxy.Model;

namespace Tandem.Node.SessionAffinity;

/// <summary>
/// Rendezvous (highest random weight) hashing: every node that sees the same session id and the same destinations picks
/// the same destination, without talking to the others, and removing a destination moves only its own sessions.
/// </summary>
internal static class RendezvousHash
{
    /// <summary>
    /// Returns the destination with the highest weight for <paramref name="sessionId"/>, or null for an empty list.
    /// The weight is the first 8 bytes of SHA-256 over the session id and the destination id, which is the same in
    /// every process, unlike <see cref="string.GetHashCode()"/>.
    /// </summary>
    public static DestinationState? Pick(string sessionId, IReadOnlyList<DestinationState> destinations)
    {
        DestinationState? best = null;
        ulong bestWeight = 0;
        foreach (var destination in destinations)
        {
            var weight = Weigh(sessionId, destination.DestinationId);
            if (best is null
                || weight > bestWeight
                || (weight == bestWeight && string.CompareOrdinal(destination.DestinationId, best.DestinationId) < 0))
            {
                best = destination;
                bestWeight = weight;
            }
        }

        return best;
    }

    internal static ulong Weigh(string sessionId, string destinationId)
    {
        var input = Encoding.UTF8.GetBytes($"{sessionId}\n{destinationId}");
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }
}
