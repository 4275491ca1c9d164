using System.Globalization;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>The outcome of a <see cref="VipLoad"/>.</summary>
/// <param name="Sent">Requests sent.</param>
/// <param name="Failed">Requests that did not end in HTTP 200 within the time limit of curl.</param>
/// <param name="FailuresByReason">Failed requests by curl's HTTP code, <c>000</c> meaning no response.</param>
/// <param name="Failures">When each failed request started, with its code.</param>
/// <param name="Slowest">The longest time curl took for one request, failed or not.</param>
public sealed record VipLoadResult(
    int Sent, int Failed, IReadOnlyDictionary<string, int> FailuresByReason, IReadOnlyList<VipLoadFailure> Failures, TimeSpan Slowest);

/// <summary>One failed request of a <see cref="VipLoad"/>.</summary>
/// <param name="StartedAt">When curl started, from the controller's clock, which the lab hosts share.</param>
/// <param name="Code">curl's HTTP code, <c>000</c> meaning no response.</param>
public sealed record VipLoadFailure(DateTimeOffset StartedAt, string Code);

/// <summary>
/// A client in the controller namespace that requests https://demo.tandem.test/ through the virtual
/// address every 50 ms with curl, one connection per request, trusting only the lab certificate.
/// A switchover drops the SYNs of new connections until the new master announces the address, and
/// the client's kernel retransmits a dropped SYN after 1 s and again 2 s later (the initial RTO of
/// RFC 6298). Real clients wait that long (libcurl's CURLOPT_CONNECTTIMEOUT defaults to 300 s), so
/// curl waits 5 s for a connection and 7 s for the whole request, and the slowest request shows the wait.
/// It stops on <see cref="StopAsync"/>, after <c>maxRequests</c> requests or after <c>maxDuration</c>,
/// whichever comes first, so it never runs unbounded.
/// </summary>
public sealed class VipLoad : IAsyncDisposable
{
    private const string Script = """
        set -u
        results=$1 stop=$2 cacert=$3 address=$4 host=$5 max_requests=$6 max_seconds=$7
        end=$((SECONDS + max_seconds))
        sent=0
        : > "$results"
        while [ ! -e "$stop" ] && [ "$sent" -lt "$max_requests" ] && [ "$SECONDS" -lt "$end" ]; do
            started=$(date +%s%3N)
            outcome=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --connect-timeout 5 --max-time 7 \
                --cacert "$cacert" --resolve "$host:443:$address" "https://$host/" || true)
            sent=$((sent + 1))
            echo "$started ${outcome:-000 0}" >> "$results"
            sleep 0.05
        done
        """;

    private readonly LabProcess _process;
    private readonly string _resultsPath;
    private readonly string _stopPath;

    private VipLoad(LabProcess process, string resultsPath, string stopPath)
    {
        _process = process;
        _resultsPath = resultsPath;
        _stopPath = stopPath;
    }

    internal static VipLoad Start(DeployLab lab, string basePath, int maxRequests, TimeSpan maxDuration)
    {
        string resultsPath = basePath + ".results";
        string stopPath = basePath + ".stop";
        LabProcess process = LabProcess.Start(
            Path.GetFileName(basePath),
            lab.ControllerNamespace,
            "bash",
            [
                "-c", Script, "vip-load", resultsPath, stopPath, lab.CertificatePath, DeployLab.VirtualAddress.ToString(),
                DeployLab.ServiceHostName, maxRequests.ToString(CultureInfo.InvariantCulture),
                ((int)maxDuration.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            ],
            basePath + ".log");
        return new VipLoad(process, resultsPath, stopPath);
    }

    /// <summary>Asks the loop to stop after its current request, waits for it and counts the outcomes.</summary>
    public async Task<VipLoadResult> StopAsync()
    {
        await File.WriteAllTextAsync(_stopPath, "");
        try
        {
            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            await _process.KillAndWaitAsync(TimeSpan.FromSeconds(5));
        }

        // Each line is "MILLISECONDS-SINCE-EPOCH CODE SECONDS". A line cut short by a kill counts as no response.
        string[] lines = File.Exists(_resultsPath) ? await File.ReadAllLinesAsync(_resultsPath) : [];
        List<VipLoadFailure> failed = [];
        TimeSpan slowest = TimeSpan.Zero;
        foreach (string line in lines)
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string code = fields.Length == 3 ? fields[1] : "000";
            if (fields.Length == 3 && double.TryParse(fields[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds))
            {
                slowest = TimeSpan.FromSeconds(Math.Max(slowest.TotalSeconds, seconds));
            }

            if (code != "200")
            {
                long milliseconds = fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
                failed.Add(new VipLoadFailure(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds), code));
            }
        }

        Dictionary<string, int> failures = failed
            .GroupBy(failure => failure.Code)
            .ToDictionary(group => group.Key, group => group.Count());
        return new VipLoadResult(lines.Length, failed.Count, failures, failed, slowest);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await StopAsync();
        }

        await _process.DisposeAsync();
    }
}
