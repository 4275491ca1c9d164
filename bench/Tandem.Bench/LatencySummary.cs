using System.Diagnostics;
using System.Globalization;

namespace Tandem.Bench;

/// <summary>Percentiles of a set of measured durations, in microseconds.</summary>
internal sealed record LatencySummary(string Name, int Count, double MeanMicroseconds, double P50Microseconds, double P99Microseconds, double MaxMicroseconds)
{
    /// <summary>Summarizes durations measured as <see cref="Stopwatch"/> ticks.</summary>
    public static LatencySummary FromTicks(string name, IReadOnlyList<long> ticks)
    {
        if (ticks.Count == 0)
        {
            return new LatencySummary(name, 0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        double[] microseconds = ticks.Select(tick => tick * 1_000_000.0 / Stopwatch.Frequency).Order().ToArray();
        return new LatencySummary(
            name,
            microseconds.Length,
            microseconds.Average(),
            Percentile(microseconds, 0.50),
            Percentile(microseconds, 0.99),
            microseconds[^1]);
    }

    public static string Header => "| measurement | n | mean µs | p50 µs | p99 µs | max µs |\n| --- | --- | --- | --- | --- | --- |";

    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"| {Name} | {Count} | {MeanMicroseconds:0.0} | {P50Microseconds:0.0} | {P99Microseconds:0.0} | {MaxMicroseconds:0.0} |");

    // Nearest-rank percentile of sorted values.
    private static double Percentile(double[] sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];
}
