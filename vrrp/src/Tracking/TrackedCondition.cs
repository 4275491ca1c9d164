using System.Diagnostics.CodeAnalysis;

namespace Tandem.Vrrp.Tracking;

/// <summary>
/// One tracked condition of a virtual router and its current result. The speaker updates link and file conditions;
/// the host calls <see cref="SetFailed"/> for the kinds that only it can observe.
/// </summary>
public sealed class TrackedCondition
{
    private readonly Lock _lock = new();
    private bool _failed;
    private int _failedWeight;
    private string _detail = "";

    internal TrackedCondition(TrackedConditionKind kind, string argument, int weight)
    {
        Kind = kind;
        Argument = argument;
        Weight = weight;
        Name = argument.Length == 0 ? KindPrefix(kind) : $"{KindPrefix(kind)}:{argument}";
    }

    /// <summary>The condition as configured, for example <c>link:eth1</c> or <c>store</c>.</summary>
    public string Name { get; }

    public TrackedConditionKind Kind { get; }

    /// <summary>The interface name, file path or cluster id; empty for <c>listener</c> and <c>store</c>.</summary>
    public string Argument { get; }

    /// <summary>The configured weight; 0 makes a failure a fault.</summary>
    public int Weight { get; }

    public bool IsFailed
    {
        get
        {
            lock (_lock)
            {
                return _failed;
            }
        }
    }

    /// <summary>What the last check found, for example <c>operstate down</c>; empty before the first check.</summary>
    public string Detail
    {
        get
        {
            lock (_lock)
            {
                return _detail;
            }
        }
    }

    /// <summary>
    /// How much the condition lowers the priority now: 0 while it holds, otherwise the configured weight, or the
    /// value a tracked file contains.
    /// </summary>
    internal int LoweredBy
    {
        get
        {
            lock (_lock)
            {
                return _failed ? _failedWeight : 0;
            }
        }
    }

    /// <summary>Raised after the result changed, on the thread that reported it.</summary>
    internal event Action<TrackedCondition>? Changed;

    /// <summary>Records the result of a check. A repeated result with the same weight raises nothing.</summary>
    /// <param name="failed">Whether the condition fails now.</param>
    /// <param name="detail">What the check found, in a few words, for logs and status.</param>
    public void SetFailed(bool failed, string detail) => SetResult(failed, Weight, detail);

    /// <summary>Records a failure that lowers the priority by <paramref name="weight"/> instead of the configured weight.</summary>
    internal void SetResult(bool failed, int weight, string detail)
    {
        lock (_lock)
        {
            var changed = failed != _failed || (failed && weight != _failedWeight);
            _failed = failed;
            _failedWeight = failed ? weight : 0;
            _detail = detail;
            if (!changed)
            {
                return;
            }
        }

        Changed?.Invoke(this);
    }

    /// <summary>Parses a <see cref="VrrpTrackOptions.Condition"/> such as <c>link:eth1</c>.</summary>
    /// <returns>False with a reason in <paramref name="problem"/> when the text names no condition.</returns>
    internal static bool TryParse(string? text, out TrackedConditionKind kind, out string argument, [NotNullWhen(false)] out string? problem)
    {
        kind = default;
        argument = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "it is empty";
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? text : text[..colon];
        argument = colon < 0 ? "" : text[(colon + 1)..];
        switch (prefix.ToLowerInvariant())
        {
            case "link":
                kind = TrackedConditionKind.Link;
                problem = argument.Length == 0 || argument.Length > VrrpOptions.MaxInterfaceNameLength || argument.Contains('/') || argument.Any(char.IsWhiteSpace)
                    ? "link: needs a Linux interface name, at most 15 characters without '/' or spaces, for example link:eth1"
                    : null;
                break;
            case "file":
                kind = TrackedConditionKind.File;
                problem = !Path.IsPathFullyQualified(argument) ? "file: needs an absolute path, for example file:/run/tandem/vrrp-down" : null;
                break;
            case "pool":
                kind = TrackedConditionKind.Pool;
                problem = argument.Length == 0 ? "pool: needs a proxy cluster id, for example pool:web" : null;
                break;
            case "listener":
                kind = TrackedConditionKind.Listener;
                problem = colon >= 0 ? "listener takes no argument" : null;
                break;
            case "store":
                kind = TrackedConditionKind.Store;
                problem = colon >= 0 ? "store takes no argument" : null;
                break;
            default:
                problem = "the kind is unknown";
                break;
        }

        return problem is null;
    }

    private static string KindPrefix(TrackedConditionKind kind) => kind switch
    {
        TrackedConditionKind.Link => "link",
        TrackedConditionKind.File => "file",
        TrackedConditionKind.Listener => "listener",
        TrackedConditionKind.Pool => "pool",
        TrackedConditionKind.Store => "store",
        _ => throw new NotSupportedException($"Unknown tracked condition kind {kind}."),
    };

    public override string ToString() => Name;
}
