using System.Globalization;
using Prometheus;
using Tandem.Vrrp;

namespace Tandem.Node.Monitoring;

/// <summary>
/// The per-router VRRP series of <c>/metrics</c>. Each series carries the router's name and its VRID, because one node
/// may run routers with the same VRID on different interfaces or address families.
/// </summary>
internal sealed class VrrpMetrics
{
    private static readonly VrrpState[] States = Enum.GetValues<VrrpState>();

    /// <summary>The labels of every series: the router's configured name, then its VRID.</summary>
    private static readonly string[] RouterLabels = ["router", "vrid"];

    private readonly Gauge _state;
    private readonly Gauge _priority;
    private readonly Counter _advertsSent;
    private readonly Counter _advertsReceived;
    private readonly Counter _advertsRejected;
    private readonly Counter _transitionsToMaster;
    private readonly Counter _gratuitousArpSent;
    private readonly Counter _priorityZeroReceived;
    private readonly Counter _repliesSuppressed;
    private readonly Gauge _effectivePriority;
    private readonly Counter _notifyFailures;
    private readonly Counter _notifyDropped;

    public VrrpMetrics(IMetricFactory factory)
    {
        _state = factory.CreateGauge(
            "tandem_vrrp_state", "1 for the current VRRP state of the virtual router, 0 for the others.", [.. RouterLabels, "state"]);
        _priority = factory.CreateGauge("tandem_vrrp_priority", "Configured VRRP priority, 1 to 255.", RouterLabels);
        _advertsSent = factory.CreateCounter(
            "tandem_vrrp_adverts_sent_total", "VRRP adverts sent, including those with priority 0.", RouterLabels);
        _advertsReceived = factory.CreateCounter(
            "tandem_vrrp_adverts_received_total", "Valid VRRP adverts for this VRID from other nodes.", RouterLabels);
        _advertsRejected = factory.CreateCounter(
            "tandem_vrrp_adverts_rejected_total", "Received VRRP packets discarded as invalid, by reason.", [.. RouterLabels, "reason"]);
        _transitionsToMaster = factory.CreateCounter(
            "tandem_vrrp_transitions_to_master_total", "Transitions of the virtual router into the Master state.", RouterLabels);
        _gratuitousArpSent = factory.CreateCounter(
            "tandem_vrrp_gratuitous_arp_sent_total", "Gratuitous ARP frames sent for the virtual addresses.", RouterLabels);
        _priorityZeroReceived = factory.CreateCounter(
            "tandem_vrrp_priority_zero_received_total", "VRRP adverts with priority 0 received, normally from a stopping master.", RouterLabels);
        _repliesSuppressed = factory.CreateCounter(
            "tandem_vrrp_replies_suppressed_total",
            "Replies to priority-0 or lower-priority adverts not sent because the master had replied within its interval.",
            RouterLabels);
        _effectivePriority = factory.CreateGauge(
            "tandem_vrrp_effective_priority", "VRRP priority advertised now: the configured one lowered by failed tracked conditions.", RouterLabels);
        _notifyFailures = factory.CreateCounter(
            "tandem_vrrp_notify_failures_total", "Runs of Vrrp:NotifyCommand that failed to start, exited with a nonzero code or timed out.", RouterLabels);
        _notifyDropped = factory.CreateCounter(
            "tandem_vrrp_notify_dropped_total", "Runs of Vrrp:NotifyCommand dropped because too many were waiting.", RouterLabels);
    }

    /// <summary>Copies the state, priorities and counters of the router named <paramref name="router"/> into its series.</summary>
    public void Update(string router, VrrpSpeaker speaker)
    {
        var vrid = speaker.Options.VirtualRouterId.ToString(CultureInfo.InvariantCulture);
        var current = speaker.State;
        foreach (var state in States)
        {
            _state.WithLabels(router, vrid, state.ToString().ToLowerInvariant()).Set(state == current ? 1 : 0);
        }

        var counters = speaker.Counters;
        _priority.WithLabels(router, vrid).Set(speaker.Options.Priority);
        _advertsSent.WithLabels(router, vrid).IncTo(counters.AdvertisementsSent);
        _advertsReceived.WithLabels(router, vrid).IncTo(counters.AdvertisementsReceived);
        _transitionsToMaster.WithLabels(router, vrid).IncTo(counters.BecameMaster);
        _gratuitousArpSent.WithLabels(router, vrid).IncTo(counters.GratuitousArpSent);
        _priorityZeroReceived.WithLabels(router, vrid).IncTo(counters.PriorityZeroReceived);
        _repliesSuppressed.WithLabels(router, vrid).IncTo(counters.RepliesSuppressed);
        _effectivePriority.WithLabels(router, vrid).Set(speaker.EffectivePriority);
        _notifyFailures.WithLabels(router, vrid).IncTo(counters.NotifyFailed);
        _notifyDropped.WithLabels(router, vrid).IncTo(counters.NotifyDropped);
        foreach (var (reason, count) in counters.GetRejectedByReason())
        {
            _advertsRejected.WithLabels(router, vrid, reason.ToString()).IncTo(count);
        }
    }
}
