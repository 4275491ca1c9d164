using System.Net;
using Tandem.ClusterTests.Lab.Drill;

namespace Tandem.ClusterTests.Lab.Client;

/// <summary>
/// Sends HTTPS requests from the client namespace to one endpoint at a fixed period until it is stopped, or until
/// <see cref="MaxRequests"/> or <see cref="MaxDuration"/> is reached, whichever comes first.
/// </summary>
public sealed class RequestLoad(LabHttpClient client, IPEndPoint target, TimeProvider timeProvider)
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);
    public const int MaxRequests = 3000;

    private const string RequestPath = "/load";

    private readonly long _clockStart = timeProvider.GetTimestamp();

    /// <summary>Time since the load was created, on the clock of <see cref="RequestOutcome.Started"/>.</summary>
    public TimeSpan Now => timeProvider.GetElapsedTime(_clockStart);

    /// <summary>Runs until <paramref name="stop"/> is cancelled or a bound is reached, and returns every outcome.</summary>
    public async Task<IReadOnlyList<RequestOutcome>> RunAsync(CancellationToken stop, CancellationToken cancellationToken)
    {
        var outcomes = new List<RequestOutcome>();
        TimeSpan nextStart = Now;
        while (!stop.IsCancellationRequested && outcomes.Count < MaxRequests && Now < MaxDuration)
        {
            TimeSpan wait = nextStart - Now;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, timeProvider, cancellationToken);
            }

            TimeSpan started = Now;
            nextStart = started + Period;
            ProbeResult result = await client.GetHttpsAsync(target, RequestPath, affinityCookie: null, cancellationToken);
            outcomes.Add(new RequestOutcome(started, Now, result.Failure, result.Reply?.Backend, result.Reply?.PeerAddress, result.AffinityCookie));
        }

        return outcomes;
    }
}
