using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Monitoring.V1;
using Tandem.Node.Hosting;
using Tandem.Node.Monitoring;
using Tandem.Node.Tests.Support;
using Tandem.SessionStore;

namespace Tandem.Node.Tests.Monitoring;

/// <summary>
/// Drives the heartbeat loop of a node that is built but not started, with the in-process store, on a fake clock.
/// </summary>
public sealed class ClusterHeartbeatServiceTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create("CN=tandem-heartbeat-test");

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public async Task Heartbeat_PublishedEachIntervalRemovedOnStop()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var configuration = new NodeConfiguration(_certificate, port: 8443)
            .Set("Node:Name", "node-a")
            .Set("Management:Port", "19999")
            .Set("Management:HeartbeatIntervalMilliseconds", "1000")
            .Set("Management:HeartbeatTtlMilliseconds", "3000");
        await using var node = await NodeApplication.CreateAsync(configuration.AddTo, new NodeApplicationOptions { TimeProvider = clock });
        var service = node.Services.GetRequiredService<ClusterHeartbeatService>();
        var store = Assert.IsType<InProcessHeartbeatStore>(service.Store);

        await service.StartAsync(TestContext.Current.CancellationToken);
        var first = await WaitForHeartbeatAsync(store, TimeSpan.Zero);

        // Each one-second tick writes a new heartbeat, so the age never reaches one interval.
        for (var tick = 0; tick < 4; tick++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(900));
            Assert.Equal(TimeSpan.FromMilliseconds(900), (await ReadSingleAsync(store)).Age);
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await WaitForHeartbeatAsync(store, TimeSpan.Zero);
        }

        clock.Advance(TimeSpan.FromMilliseconds(500));
        var beforeStop = await ReadSingleAsync(store);
        await service.StopAsync(TestContext.Current.CancellationToken);
        var afterStop = await store.ReadAllAsync(TestContext.Current.CancellationToken);

        var status = NodeStatus.Parser.ParseFrom(first.Payload.Span);
        Assert.Equal("node-a", status.NodeName);
        Assert.Equal(TimeSpan.FromSeconds(3), first.TimeToLive);
        Assert.Equal(TimeSpan.FromMilliseconds(500), beforeStop.Age);
        Assert.Empty(afterStop.Heartbeats);
    }

    private static async Task<Heartbeat> ReadSingleAsync(InProcessHeartbeatStore store) =>
        Assert.Single((await store.ReadAllAsync(TestContext.Current.CancellationToken)).Heartbeats);

    /// <summary>
    /// Waits for the loop, which runs on the thread pool after the fake clock fired its timer, to write a heartbeat of
    /// the given age. Bounded: 200 checks 10 ms apart.
    /// </summary>
    private static async Task<Heartbeat> WaitForHeartbeatAsync(InProcessHeartbeatStore store, TimeSpan age)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var read = await store.ReadAllAsync(TestContext.Current.CancellationToken);
            if (read.Heartbeats.Count == 1 && read.Heartbeats[0].Age == age)
            {
                return read.Heartbeats[0];
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException(string.Create(CultureInfo.InvariantCulture, $"No heartbeat of age {age.TotalMilliseconds} ms within 2 s."));
    }
}
