using System.Globalization;
using Microsoft.Extensions.Logging;
using Tandem.Vrrp.Diagnostics;
using Tandem.Vrrp.StateMachine;

namespace Tandem.Vrrp.Tracking;

/// <summary>
/// Polls the link and file conditions of one virtual router on <see cref="TimeProvider"/> and applies every
/// condition's result to the state machine's effective priority.
/// </summary>
/// <remarks>
/// Polling <c>/sys/class/net</c> costs one small read per interval and needs no netlink socket, at the price of up to
/// one interval of delay: keepalived 2.2.7 reacts to netlink link events at once.
/// </remarks>
internal sealed partial class TrackedConditionMonitor : IDisposable
{
    /// <summary>The largest value a tracked file may contain, so that 254 minus it still leaves priority 1.</summary>
    internal const int MaxWeight = 253;

    /// <summary>A tracked file is read up to this length: it should contain one integer.</summary>
    private const int MaxFileBytes = 64;

    private readonly byte _vrid;
    private readonly string _sysClassNet;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private VirtualRouter? _router;
    private ITimer? _pollTimer;

    public TrackedConditionMonitor(VrrpOptions options, TimeProvider timeProvider, ILogger logger, string sysClassNet = "/sys/class/net")
    {
        _vrid = (byte)Math.Clamp(options.VirtualRouterId, 0, 255);
        _timeProvider = timeProvider;
        _pollInterval = TimeSpan.FromMilliseconds(Math.Max(1, options.TrackIntervalMilliseconds));
        _logger = logger;
        _sysClassNet = sysClassNet;

        var conditions = new List<TrackedCondition>();
        foreach (var entry in options.Track ?? [])
        {
            // Invalid entries fail validation before the speaker starts, so they are only skipped here.
            if (entry is not null && TrackedCondition.TryParse(entry.Condition, out var kind, out var argument, out _))
            {
                var condition = new TrackedCondition(kind, argument, entry.Weight);
                condition.Changed += OnChanged;
                conditions.Add(condition);
            }
        }

        Conditions = conditions;
    }

    /// <summary>Every tracked condition in configuration order.</summary>
    public IReadOnlyList<TrackedCondition> Conditions { get; }

    /// <summary>Checks the link and file conditions once, then every poll interval, and keeps <paramref name="router"/> up to date.</summary>
    public void Start(VirtualRouter router)
    {
        lock (_lock)
        {
            _router = router;
        }

        // The first poll runs before the router starts, so an owner with a failed condition of weight 0 never claims.
        Poll();
        Apply();
        if (Conditions.Any(IsPolled))
        {
            _pollTimer = _timeProvider.CreateTimer(_ => Poll(), null, _pollInterval, _pollInterval);
        }
    }

    /// <summary>Checks every link and file condition now.</summary>
    public void Poll()
    {
        foreach (var condition in Conditions)
        {
            switch (condition.Kind)
            {
                case TrackedConditionKind.Link:
                    CheckLink(condition);
                    break;
                case TrackedConditionKind.File:
                    CheckFile(condition);
                    break;
            }
        }
    }

    public void Dispose()
    {
        _pollTimer?.Dispose();
        lock (_lock)
        {
            _router = null;
        }
    }

    private static bool IsPolled(TrackedCondition condition) => condition.Kind is TrackedConditionKind.Link or TrackedConditionKind.File;

    private void CheckLink(TrackedCondition condition)
    {
        var path = Path.Combine(_sysClassNet, condition.Argument, "operstate");
        string state;
        try
        {
            state = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            condition.SetFailed(true, "interface not found");
            return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            condition.SetFailed(true, $"reading {path} failed: {ex.Message}");
            return;
        }

        // RFC 2863 operStatus as the kernel reports it. "unknown" is what drivers without carrier detection report,
        // the loopback among them, so it counts as up, as the kernel's own IFF_RUNNING does.
        var failed = state is "down" or "lowerlayerdown" or "notpresent" or "dormant";
        condition.SetFailed(failed, $"operstate {state}");
    }

    private static void CheckFile(TrackedCondition condition)
    {
        string content;
        try
        {
            // File.Exists is false for a directory, which would pass as an absent file and so never fail. The
            // failure is logged once, when the condition changes to failed.
            if (Directory.Exists(condition.Argument))
            {
                condition.SetFailed(true, "the path is a directory, not a regular file. Point the condition at a file, or remove the directory");
                return;
            }

            if (!File.Exists(condition.Argument))
            {
                condition.SetFailed(false, "file absent");
                return;
            }

            using var stream = new FileStream(condition.Argument, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[MaxFileBytes];
            var length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            content = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Removed between the check and the read.
            condition.SetFailed(false, "file absent");
            return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            condition.SetFailed(true, $"reading the file failed: {ex.Message} Make it a regular file that the node's user can read, or remove it");
            return;
        }

        if (int.TryParse(content, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= MaxWeight)
        {
            // 0 means OK. Another number lowers the priority by itself, unless the weight 0 makes any failure a fault.
            var weight = condition.Weight == 0 ? 0 : value;
            condition.SetResult(value != 0, weight, $"file contains {value}");
            return;
        }

        condition.SetFailed(true, content.Length == 0 ? "file present" : "file present and not an integer from 0 to 253");
    }

    private void OnChanged(TrackedCondition condition)
    {
        if (condition.IsFailed)
        {
            Log.ConditionFailed(_logger, _vrid, condition.Name, condition.Weight, condition.Detail);
        }
        else
        {
            Log.ConditionRecovered(_logger, _vrid, condition.Name, condition.Detail);
        }

        Apply();
    }

    /// <summary>Hands the sum of the failed weights and the names of the failed faults to the router.</summary>
    /// <remarks>
    /// The poll timer and the host report from different threads. Holding the lock from reading the conditions to
    /// calling the router keeps an older result from overwriting a newer one. The router never calls back into
    /// this class, so the lock order is always this lock, then the router's.
    /// </remarks>
    private void Apply()
    {
        lock (_lock)
        {
            if (_router is { } router)
            {
                Apply(router);
            }
        }
    }

    private void Apply(VirtualRouter router)
    {
        var loweredBy = 0;
        var faults = new List<string>();
        foreach (var condition in Conditions)
        {
            if (!condition.IsFailed)
            {
                continue;
            }

            if (condition.Weight == 0)
            {
                faults.Add($"track:{condition.Name} ({condition.Detail})");
            }
            else
            {
                loweredBy += condition.LoweredBy;
            }
        }

        router.SetTracking(loweredBy, faults.Count == 0 ? null : string.Join(", ", faults));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = VrrpEventIds.TrackedConditionFailed, Level = LogLevel.Warning, Message = "VRID {vrid} tracked condition {condition} (weight {weight}) failed: {detail}")]
        public static partial void ConditionFailed(ILogger logger, byte vrid, string condition, int weight, string detail);

        [LoggerMessage(EventId = VrrpEventIds.TrackedConditionRecovered, Level = LogLevel.Information, Message = "VRID {vrid} tracked condition {condition} recovered: {detail}")]
        public static partial void ConditionRecovered(ILogger logger, byte vrid, string condition, string detail);
    }
}
