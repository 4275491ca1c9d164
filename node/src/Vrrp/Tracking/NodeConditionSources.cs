namespace Tandem.Node.Vrrp.Tracking;

/// <summary>The result of one check of a node condition: whether it fails, and what the check found.</summary>
internal readonly record struct ConditionCheck(bool Failed, string Detail);

/// <summary>The checks behind the <c>listener</c>, <c>pool:</c> and <c>store</c> conditions of <c>Vrrp:Track</c>.</summary>
/// <param name="Listener">
/// Checks whether the proxy listener accepts connections, given whether every hosted service, Kestrel among them, has started.
/// </param>
/// <param name="Pool">Checks whether the proxy cluster with the given id has a healthy destination.</param>
/// <param name="Store">Checks whether the shared session store is reachable.</param>
internal sealed record NodeConditionSources(
    Func<bool, ConditionCheck> Listener,
    Func<string, ConditionCheck> Pool,
    Func<ConditionCheck> Store);
