using Tandem.Node.Configuration;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Vrrp.Tracking;

/// <summary>The Vrrp:Track settings as the node loads them from configuration.</summary>
public sealed class TrackSettingsTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    private (NodeSettings? Settings, List<string> Errors) Load(NodeConfiguration configuration)
    {
        var errors = new List<string>();
        var settings = NodeSettingsLoader.Load(configuration.Build(), TimeProvider.System, errors, []);
        return (settings, errors);
    }

    [Fact]
    public void Track_BindsEveryEntry()
    {
        var configuration = new NodeConfiguration(_certificate).WithVrrp()
            .Set("Vrrp:Track:0:Condition", "pool:backends")
            .Set("Vrrp:Track:0:Weight", "30")
            .Set("Vrrp:Track:1:Condition", "link:lo");

        var (settings, errors) = Load(configuration);

        Assert.Empty(errors);
        var track = Assert.Single(settings!.Vrrp!.Routers).Options.Track;
        Assert.Equal(2, track.Count);
        Assert.Equal("pool:backends", track[0].Condition);
        Assert.Equal(30, track[0].Weight);
        Assert.Equal("link:lo", track[1].Condition);
        Assert.Equal(0, track[1].Weight);
    }

    [Fact]
    public void Track_UnknownPoolIsRejected()
    {
        var configuration = new NodeConfiguration(_certificate).WithVrrp()
            .Set("Vrrp:Track:0:Condition", "pool:web")
            .Set("Vrrp:Track:0:Weight", "30");

        var (settings, errors) = Load(configuration);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.Equal("Vrrp:Track:0:Condition 'pool:web' names a cluster that ReverseProxy:Clusters does not define. Use one of its cluster ids: backends.", error);
    }

    [Fact]
    public void Track_InvalidWeightNamesTheEntry()
    {
        var configuration = new NodeConfiguration(_certificate).WithVrrp()
            .Set("Vrrp:Track:0:Condition", "store")
            .Set("Vrrp:Track:0:Weight", "300");

        var (settings, errors) = Load(configuration);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith("Vrrp:Track:0:Weight 300 is out of range.", error, StringComparison.Ordinal);
    }
}
