using Tandem.ClusterTests.Lab.Client;
using Tandem.ClusterTests.Lab.Nodes;

namespace Tandem.ClusterTests.Lab;

/// <summary>Settings of one lab run.</summary>
public sealed record ClusterLabOptions
{
    public NodeSettings Nodes { get; init; } = new();

    public LabClientTimeouts ClientTimeouts { get; init; } = LabClientTimeouts.Default;

    /// <summary>The limit on each startup wait: Redis replying to PING, a backend or node responding to HTTP, the master settling.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Keep the run directory (configs, logs, certificate and key) after teardown, for debugging.</summary>
    public bool KeepRunDirectory { get; init; }

    /// <summary>The tandem-node build to run; defaults to <see cref="LabPaths.NodeAssembly"/>.</summary>
    public string? NodeAssemblyPath { get; init; }
}
