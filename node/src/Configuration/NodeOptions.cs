namespace Tandem.Node.Configuration;

/// <summary>Identity of this node, bound from the <c>Node</c> configuration section.</summary>
public sealed class NodeOptions
{
    /// <summary>Name of the node in logs. Empty means the host name.</summary>
    public string Name { get; set; } = "";
}
