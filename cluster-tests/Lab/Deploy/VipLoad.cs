using System.Globalization;
using Tandem.ClusterTests.Lab.Processes;

namespace Tandem.ClusterTests.Lab.Deploy;

/// <summary>The outcome of a <see cref="VipLoad"/>.</summary>
/// <param name="Sent">Requests sent.</param>
/// <param name="Failed">Requests that did not end in HTTP 200 within the time limit of curl.</param>
/// <param name="FailuresByReason">Failed requests by curl's HTTP code, <c>000</c> meaning no response.</param>
public sealed record VipLoadResult(int Sent, int Failed, IReadOnlyDictionary<string, int> FailuresByReason);

/// <summary>
/// A client in the controller namespace that requests https://demo.tandem.test/ through the virtual
/// address every 50 ms with curl, one connection per request, trusting only the lab certificate.
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
            code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 \
                --cacert "$cacert" --resolve "$host:443:$address" "https://$host/" || true)
            sent=$((sent + 1))
            echo "$code" >> "$results"
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

        string[] codes = File.Exists(_resultsPath) ? await File.ReadAllLinesAsync(_resultsPath) : [];
        Dictionary<string, int> failures = codes
            .Where(code => code != "200")
            .GroupBy(code => code.Length == 0 ? "000" : code)
            .ToDictionary(group => group.Key, group => group.Count());
        return new VipLoadResult(codes.Length, failures.Values.Sum(), failures);
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
