using Prometheus;
using Tandem.Node.Monitoring;

namespace Tandem.Node.Control;

/// <summary>The NodeControl counters, in the management listener's Prometheus registry.</summary>
internal sealed class ControlMetrics(ManagementMetrics management)
{
    private readonly Counter _rejected = Metrics.WithCustomRegistry(management.Registry).CreateCounter(
        "tandem_control_calls_rejected_total",
        "NodeControl calls rejected before they reached the service, by reason: no_token_configured, " +
        "missing_credentials, wrong_token.",
        "reason");

    private readonly Counter _calls = Metrics.WithCustomRegistry(management.Registry).CreateCounter(
        "tandem_control_calls_total",
        "Authenticated NodeControl calls by method and result: ok, or the gRPC status code of the failure.",
        "method", "result");

    public void OnRejected(string reason) => _rejected.WithLabels(reason).Inc();

    public void OnCompleted(string method, string result) => _calls.WithLabels(method, result).Inc();
}
