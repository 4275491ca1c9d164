using Microsoft.AspNetCore.Builder;
using Tandem.Node.Hosting;

namespace Tandem.Node.Tests.Support;

/// <summary>Nodes that one test hosts in process, stopped and disposed together when the test ends.</summary>
internal sealed class TestNodes : IAsyncDisposable
{
    private readonly List<WebApplication> _nodes = [];

    /// <summary>The node that the test started as the <paramref name="index"/>-th, counting from 0.</summary>
    public WebApplication this[int index] => _nodes[index];

    /// <summary>Creates a node from <paramref name="configuration"/> and starts it.</summary>
    public async Task<WebApplication> StartAsync(NodeConfiguration configuration, NodeApplicationOptions? options = null)
    {
        var node = await NodeApplication.CreateAsync(configuration.AddTo, options);
        _nodes.Add(node);
        await node.StartAsync(TestContext.Current.CancellationToken);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync(CancellationToken.None);
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }
}
