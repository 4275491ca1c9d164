using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli;

/// <summary>The response of one node: its status, or the error that ended the call.</summary>
internal sealed record NodeResult(NodeEndpoint Endpoint, NodeStatus? Status, string? Error, int ExitCode);

/// <summary>Writes node status as a table for people or as JSON for scripts.</summary>
internal static class StatusRenderer
{
    private static readonly string[] Headers = ["NODE", "ENDPOINT", "VRID", "STATE", "PRIO", "MASTER", "VIPS", "BACKENDS", "STORE", "CERT DAYS"];

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>Writes one row per virtual router, or one row with "-" in the VRRP columns when VRRP is off.</summary>
    public static void WriteTable(TextWriter output, IReadOnlyList<NodeResult> results)
    {
        var rows = new List<string[]> { Headers };
        foreach (var result in results)
        {
            rows.AddRange(BuildRows(result));
        }

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

    /// <summary>Writes a JSON array with one object per node: its endpoint and either its status or its error.</summary>
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
                return $"{time} vrrp vrid {change.Vrid}: {Name(change.Transition.From)} -> {Name(change.Transition.To)} ({change.Transition.Reason})";
            case NodeEvent.EventOneofCase.BackendHealthChanged:
                var health = nodeEvent.BackendHealthChanged;
                return $"{time} backend {health.ClusterId}/{health.DestinationId}: {Name(health.Previous)} -> {Name(health.Current)}";
            case NodeEvent.EventOneofCase.SessionStoreConnectivityChanged:
                var store = nodeEvent.SessionStoreConnectivityChanged;
                var error = string.IsNullOrEmpty(store.Error) ? "" : $" ({store.Error})";
                return $"{time} session store: {Name(store.Previous)} -> {Name(store.Current)}{error}";
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

    private static IEnumerable<string[]> BuildRows(NodeResult result)
    {
        var endpoint = result.Endpoint.ToString();
        if (result.Status is not { } status)
        {
            yield return ["?", endpoint, "-", result.ExitCode == ExitCodes.Unreachable ? "unreachable" : "error", "-", "-", "-", "-", "-", "-"];
            yield break;
        }

        var backends = FormatBackends(status.Proxy);
        var store = FormatStore(status.SessionStore);
        var days = status.Certificate is null ? "-" : status.Certificate.DaysLeft.ToString(CultureInfo.InvariantCulture);
        if (status.VirtualRouters.Count == 0)
        {
            yield return [status.NodeName, endpoint, "-", "vrrp off", "-", "-", "-", backends, store, days];
            yield break;
        }

        foreach (var router in status.VirtualRouters)
        {
            yield return
            [
                status.NodeName,
                endpoint,
                router.Vrid.ToString(CultureInfo.InvariantCulture),
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
