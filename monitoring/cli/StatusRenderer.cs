using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli;

/// <summary>
/// The response of one node: its status and, from nodes that serve GetCluster, its cluster view, or the error that
/// ended the call.
/// </summary>
internal sealed record NodeResult(NodeEndpoint Endpoint, NodeStatus? Status, string? Error, int ExitCode, ClusterView? Cluster = null);

/// <summary>Writes node status as a table for people or as JSON for scripts.</summary>
internal static class StatusRenderer
{
    private static readonly string[] Headers = ["NODE", "AGE", "VRID", "STATE", "PRIO", "MASTER", "VIPS", "BACKENDS", "STORE", "CERT DAYS"];

    /// <summary>The name a node gives the single router of its Vrrp section when Vrrp:Name is not set.</summary>
    private const string DefaultRouterName = "default";

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>
    /// Writes one row per node and virtual router from the cluster views of all nodes asked. Then it writes one line per
    /// VRID that names its master or flags none or several, and one line per view that could not read its peers.
    /// </summary>
    /// <remarks>
    /// A node that appears in several views is shown from the freshest entry, so asking two nodes shows each one live.
    /// A node that responded without a view (an older node, or a Watch snapshot) is shown from its own status.
    /// </remarks>
    public static void WriteTable(TextWriter output, IReadOnlyList<NodeResult> results)
    {
        var members = MergeMembers(results);
        var rows = new List<string[]> { Headers };
        foreach (var member in members)
        {
            rows.AddRange(BuildRows(member));
        }

        foreach (var result in results.Where(r => r.Status is null))
        {
            rows.Add([result.Endpoint.ToString(), "-", "-", result.ExitCode == ExitCodes.Unreachable ? "unreachable" : "error", "-", "-", "-", "-", "-", "-"]);
        }

        WriteColumns(output, rows);

        if (results.Any(r => r.Cluster is not null))
        {
            foreach (var line in DescribeMasters(members))
            {
                output.WriteLine(line);
            }
        }

        foreach (var member in members.Where(m => m.Status.Degraded))
        {
            output.WriteLine(DescribeDegraded(member.Status.NodeName, member.Status.DegradedReasons));
        }

        foreach (var view in results.Select(r => r.Cluster).OfType<ClusterView>().Where(v => !v.PeersAvailable))
        {
            output.WriteLine(
                $"{view.ReportingNode}: cluster view incomplete because reading the heartbeats from the session store failed ({view.PeersError}), so it lists only itself.");
        }
    }

    /// <summary>
    /// Returns one line per virtual router (VRID and name): its master, or a flag when no current node or more than
    /// one is master. Stale nodes do not count, like on the node.
    /// </summary>
    internal static IEnumerable<string> DescribeMasters(IReadOnlyList<ClusterMember> members)
    {
        var routers = members
            .SelectMany(m => m.Status.VirtualRouters.Select(r => (r.Vrid, r.Name)))
            .Distinct()
            .OrderBy(r => r.Vrid)
            .ThenBy(r => r.Name, StringComparer.Ordinal);
        foreach (var (vrid, name) in routers)
        {
            var masters = members
                .Where(m => !m.Stale && m.Status.VirtualRouters.Any(r => r.Vrid == vrid && r.Name == name && r.State == VrrpState.Master))
                .Select(m => m.Status.NodeName)
                .ToList();
            var label = Label(vrid, name);
            yield return masters.Count switch
            {
                0 => $"VRID {label}: NO MASTER among the current nodes",
                1 => $"VRID {label}: master {masters[0]}",
                _ => $"VRID {label}: {masters.Count} MASTERS at once: {string.Join(", ", masters)}",
            };
        }
    }

    /// <summary>Returns the line that flags a degraded node, for example "node-a: degraded (session_store_unreachable)".</summary>
    internal static string DescribeDegraded(string nodeName, IEnumerable<string> reasons)
    {
        var list = string.Join(", ", reasons);
        return list.Length == 0 ? $"{nodeName}: degraded" : $"{nodeName}: degraded ({list})";
    }

    /// <summary>
    /// Returns the VRID followed by the router's name, for example "52 api". The name "default" of a node's single
    /// router, and the empty name of older nodes, are left out so that such output reads as before.
    /// </summary>
    internal static string Label(uint vrid, string name)
    {
        var number = vrid.ToString(CultureInfo.InvariantCulture);
        return string.IsNullOrEmpty(name) || name == DefaultRouterName ? number : $"{number} {name}";
    }

    /// <summary>Merges the members of every view by node name, keeping the youngest entry of each node.</summary>
    internal static List<ClusterMember> MergeMembers(IReadOnlyList<NodeResult> results)
    {
        var byName = new Dictionary<string, ClusterMember>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            IEnumerable<ClusterMember> members = result switch
            {
                { Cluster: { } view } => view.Members,
                { Status: { } status } => [new ClusterMember { Status = status, Self = true, Age = new Google.Protobuf.WellKnownTypes.Duration() }],
                _ => [],
            };

            foreach (var member in members)
            {
                var name = member.Status.NodeName;
                if (!byName.TryGetValue(name, out var known) || Age(member) < Age(known))
                {
                    byName[name] = member;
                }
            }
        }

        return [.. byName.Values.OrderBy(m => m.Status.NodeName, StringComparer.Ordinal)];
    }

    private static void WriteColumns(TextWriter output, List<string[]> rows)
    {
        var widths = new int[Headers.Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>
    /// Writes a JSON array with one object per node asked: its endpoint and either its status and cluster view or its
    /// error. <c>cluster</c> is absent for nodes that do not serve GetCluster.
    /// </summary>
    public static void WriteJson(TextWriter output, IReadOnlyList<NodeResult> results)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var result in results)
            {
                writer.WriteStartObject();
                writer.WriteString("endpoint", result.Endpoint.ToString());
                if (result.Status is not null)
                {
                    // Parsed again so that the status is indented like the rest of the output.
                    writer.WritePropertyName("status");
                    using var status = JsonDocument.Parse(Formatter.Format(result.Status));
                    status.RootElement.WriteTo(writer);
                    if (result.Cluster is not null)
                    {
                        writer.WritePropertyName("cluster");
                        using var cluster = JsonDocument.Parse(Formatter.Format(result.Cluster));
                        cluster.RootElement.WriteTo(writer);
                    }
                }
                else
                {
                    writer.WriteString("error", result.Error);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Formats one Watch event as JSON on a single line.</summary>
    public static string FormatEventJson(NodeEvent nodeEvent) => Formatter.Format(nodeEvent);

    /// <summary>Formats one Watch event as a line of text; a snapshot becomes a table.</summary>
    public static string FormatEvent(NodeEndpoint endpoint, NodeEvent nodeEvent)
    {
        var time = nodeEvent.Time?.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) ?? "-";
        switch (nodeEvent.EventCase)
        {
            case NodeEvent.EventOneofCase.Snapshot:
                var table = new StringWriter(CultureInfo.InvariantCulture);
                WriteTable(table, [new NodeResult(endpoint, nodeEvent.Snapshot, null, ExitCodes.Success)]);
                return $"{time} snapshot{Environment.NewLine}{table.ToString().TrimEnd()}";
            case NodeEvent.EventOneofCase.StateChanged:
                var change = nodeEvent.StateChanged;
                return $"{time} vrrp vrid {Label(change.Vrid, change.Router)}: {Name(change.Transition.From)} -> {Name(change.Transition.To)} ({change.Transition.Reason})";
            case NodeEvent.EventOneofCase.BackendHealthChanged:
                var health = nodeEvent.BackendHealthChanged;
                return $"{time} backend {health.ClusterId}/{health.DestinationId}: {Name(health.Previous)} -> {Name(health.Current)}";
            case NodeEvent.EventOneofCase.SessionStoreConnectivityChanged:
                var store = nodeEvent.SessionStoreConnectivityChanged;
                var error = string.IsNullOrEmpty(store.Error) ? "" : $" ({store.Error})";
                return $"{time} session store: {Name(store.Previous)} -> {Name(store.Current)}{error}";
            case NodeEvent.EventOneofCase.CertificateExpiring:
                var certificate = nodeEvent.CertificateExpiring;
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"{time} certificate {certificate.Subject}: {certificate.DaysLeft} days left, expires {certificate.NotAfter?.ToDateTimeOffset():yyyy-MM-ddTHH:mm:ssZ} (warning from {certificate.WarningDays} days)");
            case NodeEvent.EventOneofCase.MaintenanceChanged:
                var maintenance = nodeEvent.MaintenanceChanged;
                return $"{time} vrrp vrid {Label(maintenance.Vrid, maintenance.Router)}: maintenance {(maintenance.Maintenance ? "on" : "off")} ({maintenance.Reason})";
            case NodeEvent.EventOneofCase.DegradedChanged:
                var degraded = nodeEvent.DegradedChanged;
                return degraded.Degraded
                    ? $"{time} {DescribeDegraded("node", degraded.Reasons)}"
                    : $"{time} node: no longer degraded";
            case NodeEvent.EventOneofCase.None:
                return $"{time} empty event";
            default:
                // A newer node may send event kinds that this build does not know.
                return $"{time} unknown event {nodeEvent.EventCase}";
        }
    }

    internal static string Name(VrrpState state) => state switch
    {
        VrrpState.Initialize => "initialize",
        VrrpState.Backup => "backup",
        VrrpState.Master => "master",
        _ => "unknown",
    };

    private static string Name(DestinationHealth health) => health switch
    {
        DestinationHealth.Healthy => "healthy",
        DestinationHealth.Unhealthy => "unhealthy",
        DestinationHealth.Unknown => "unknown",
        _ => "unspecified",
    };

    private static string Name(StoreConnectionState state) => state switch
    {
        StoreConnectionState.NotApplicable => "n/a",
        StoreConnectionState.Connecting => "connecting",
        StoreConnectionState.Connected => "connected",
        StoreConnectionState.Disconnected => "disconnected",
        _ => "unspecified",
    };

    private static IEnumerable<string[]> BuildRows(ClusterMember member)
    {
        var status = member.Status;
        var age = FormatAge(member);
        var backends = FormatBackends(status.Proxy);
        var store = FormatStore(status.SessionStore);
        var days = FormatCertificateDays(status);
        if (status.VirtualRouters.Count == 0)
        {
            yield return [status.NodeName, age, "-", "vrrp off", "-", "-", "-", backends, store, days];
            yield break;
        }

        foreach (var router in status.VirtualRouters)
        {
            yield return
            [
                status.NodeName,
                age,
                Label(router.Vrid, router.Name),
                Name(router.State),
                router.ConfiguredPriority.ToString(CultureInfo.InvariantCulture),
                FormatMaster(router),
                router.VirtualAddressesHeld.Count == 0 ? "-" : string.Join(",", router.VirtualAddressesHeld),
                backends,
                store,
                days,
            ];
        }
    }

    private static TimeSpan Age(ClusterMember member) => member.Age?.ToTimeSpan() ?? TimeSpan.Zero;

    /// <summary>"live" for a node's own entry, else the heartbeat's age in seconds, with "stale" once it missed one.</summary>
    private static string FormatAge(ClusterMember member)
    {
        if (member.Self)
        {
            return "live";
        }

        var age = string.Create(CultureInfo.InvariantCulture, $"{Age(member).TotalSeconds:0.0}s");
        return member.Stale ? $"{age} stale" : age;
    }

    private static string FormatMaster(VirtualRouterStatus router)
    {
        if (router.State == VrrpState.Master)
        {
            return "self";
        }

        return router.MasterHeard is { } master
            ? string.Create(CultureInfo.InvariantCulture, $"{master.Address} ({master.Priority})")
            : "-";
    }

    /// <summary>
    /// Returns the days left of the certificate that expires first. Nodes that serve several certificates list them all
    /// in <c>certificates</c>; older nodes report only <c>certificate</c>.
    /// </summary>
    private static string FormatCertificateDays(NodeStatus status)
    {
        if (status.Certificates.Count > 0)
        {
            return status.Certificates.Min(c => c.DaysLeft).ToString(CultureInfo.InvariantCulture);
        }

        return status.Certificate is null ? "-" : status.Certificate.DaysLeft.ToString(CultureInfo.InvariantCulture);
    }

    private static string FormatBackends(ProxyStatus? proxy)
    {
        if (proxy is null)
        {
            return "-";
        }

        var destinations = proxy.Clusters.SelectMany(c => c.Destinations).ToList();

        // YARP sends traffic to destinations of unknown health, so they count as usable here.
        var usable = destinations.Count(d => d.Health != DestinationHealth.Unhealthy);
        return string.Create(CultureInfo.InvariantCulture, $"{usable}/{destinations.Count}");
    }

    private static string FormatStore(SessionStoreStatus? store) => store?.Kind switch
    {
        SessionStoreKind.InProcess => "in-process",
        SessionStoreKind.Redis => $"redis {Name(store.ConnectionState)}",
        _ => "-",
    };
}
