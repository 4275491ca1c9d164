using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tandem.Node.Configuration;
using Tandem.Node.Logging;
using Tandem.Vrrp;

namespace Tandem.Node.Vrrp;

/// <summary>What the sync group coordinator reads from and does to one virtual router.</summary>
internal interface ISyncGroupMember
{
    string Name { get; }

    VrrpState State { get; }

    bool InMaintenance { get; }

    bool HandingOver { get; }

    /// <summary>When the last advert from the router's master arrived, or null when none was heard.</summary>
    DateTimeOffset? MasterHeardAt { get; }

    /// <summary>The router's configured Advertisement_Interval.</summary>
    TimeSpan AdvertisementInterval { get; }

    Task<VrrpHandOverResult> HandOverAsync(string reason);

    /// <summary>Moves a backup to Master at once. Returns false when it was not Backup or is in maintenance.</summary>
    bool TakeOver(string reason);
}

/// <summary>
/// Keeps the routers of each sync group in step, like keepalived's <c>vrrp_sync_group</c>: when one router leaves
/// Master, the group's other masters hand over, and when one becomes Master, the group's backups whose master is
/// silent take over at once.
/// </summary>
/// <remarks>
/// <para>
/// A member that leaves Master for any state (Backup, or Initialize when it stops) makes every other master of the
/// group hand over: a priority-0 advert, then Backup once the peer's router advertises. The hand-over keeps the
/// addresses until then, so a group never leaves an address without a holder. That differs from keepalived
/// (<c>vrrp_sync_backup</c> in vrrp_sync.c of v2.4.1), which moves the other members to Backup at once.
/// </para>
/// <para>
/// A member that becomes Master brings along the group's backups whose master is silent (it missed two adverts), as
/// when the peer node died and their own Master_Down_Timer is about to fire. A backup that still hears its master is
/// left to the election: the peer's group hands that router over when the peer runs the same group. keepalived
/// instead keeps every member in Backup until all of them want Master (<c>vrrp_sync_can_goto_master</c> in the same
/// file), which needs a hook in the state machine that this coordinator does not have.
/// </para>
/// <para>
/// Changes made by the coordinator carry the reason prefix "sync group NAME:" and do not trigger it again, so one
/// event moves the group once. Actions run one at a time on the coordinator's own queue, never inside a speaker's
/// StateChanged handler, because that handler holds the state machine's lock and two routers would deadlock.
/// </para>
/// </remarks>
internal sealed partial class VrrpSyncGroupCoordinator
{
    private readonly Dictionary<string, (VrrpSyncGroupSettings Group, List<ISyncGroupMember> Members)> _groupOfRouter = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Channel<Action>? _queue;
    private volatile bool _stopped;

    /// <summary>Creates a coordinator that runs its actions on a queue of its own.</summary>
    public VrrpSyncGroupCoordinator(IReadOnlyList<VrrpSyncGroupSettings> groups, IReadOnlyList<ISyncGroupMember> members, TimeProvider timeProvider, ILogger logger)
        : this(groups, members, timeProvider, logger, runInline: false)
    {
    }

    /// <summary>Creates a coordinator. With <paramref name="runInline"/> it acts inside <see cref="OnStateChanged"/>, for tests.</summary>
    internal VrrpSyncGroupCoordinator(IReadOnlyList<VrrpSyncGroupSettings> groups, IReadOnlyList<ISyncGroupMember> members, TimeProvider timeProvider, ILogger logger, bool runInline)
    {
        _timeProvider = timeProvider;
        _logger = logger;
        foreach (var group in groups)
        {
            var groupMembers = group.Routers
                .Select(name => members.First(member => string.Equals(member.Name, name, StringComparison.OrdinalIgnoreCase)))
                .ToList();
            foreach (var member in groupMembers)
            {
                _groupOfRouter[member.Name] = (group, groupMembers);
            }
        }

        if (!runInline)
        {
            _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
            _ = Task.Run(RunQueueAsync);
        }
    }

    /// <summary>Stops acting on state changes, so that a node that shuts down does not hand over router by router.</summary>
    public void Stop()
    {
        _stopped = true;
        _queue?.Writer.TryComplete();
    }

    /// <summary>Handles a state change of the router called <paramref name="routerName"/>. Safe to call under the router's lock.</summary>
    public void OnStateChanged(string routerName, VrrpStateChange change)
    {
        if (_stopped || !_groupOfRouter.TryGetValue(routerName, out var entry))
        {
            return;
        }

        var (group, members) = entry;
        if (change.Reason.StartsWith(ReasonPrefix(group), StringComparison.Ordinal))
        {
            return;
        }

        if (change.To == VrrpState.Master)
        {
            Run(() => FollowToMaster(group, members, routerName));
        }
        else if (change.From == VrrpState.Master)
        {
            Run(() => FollowOutOfMaster(group, members, routerName, change.To));
        }
    }

    private void FollowToMaster(VrrpSyncGroupSettings group, List<ISyncGroupMember> members, string leader)
    {
        foreach (var member in members.Where(m => !IsLeader(m, leader) && m.State != VrrpState.Master))
        {
            if (member.State != VrrpState.Backup || member.InMaintenance)
            {
                Log.MemberNotFollowing(_logger, group.Name, member.Name, leader, VrrpState.Master, member.InMaintenance ? "it is in maintenance" : $"it is {member.State}");
                continue;
            }

            if (!IsMasterSilent(member))
            {
                Log.MemberNotFollowing(_logger, group.Name, member.Name, leader, VrrpState.Master, "its master still advertises, so it waits for that master to hand over");
                continue;
            }

            var reason = $"{ReasonPrefix(group)} router {leader} became master";
            if (member.TakeOver(reason))
            {
                Log.MemberFollowed(_logger, group.Name, member.Name, leader, VrrpState.Master);
            }
        }
    }

    private void FollowOutOfMaster(VrrpSyncGroupSettings group, List<ISyncGroupMember> members, string leader, VrrpState leaderState)
    {
        foreach (var member in members.Where(m => !IsLeader(m, leader) && m.State == VrrpState.Master && !m.HandingOver))
        {
            var reason = $"{ReasonPrefix(group)} router {leader} left Master for {leaderState}";
            Log.MemberHandingOver(_logger, group.Name, member.Name, leader, leaderState);
            var handOver = member.HandOverAsync(reason);
            _ = handOver.ContinueWith(
                task => Log.MemberHandOverEnded(_logger, group.Name, member.Name, task.IsCompletedSuccessfully ? task.Result.ToString() : "Failed"),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>
    /// True when the member's master missed two adverts in a row, or none was heard. A live master advertises every
    /// interval, and a dead one has been silent for almost Master_Down_Interval (three intervals plus Skew_Time, RFC
    /// 9568 §6.1) when the first router of the group times out, so two intervals tell the cases apart.
    /// </summary>
    private bool IsMasterSilent(ISyncGroupMember member) =>
        member.MasterHeardAt is not { } heardAt || _timeProvider.GetUtcNow() - heardAt > 2 * member.AdvertisementInterval;

    private static bool IsLeader(ISyncGroupMember member, string leader) =>
        string.Equals(member.Name, leader, StringComparison.OrdinalIgnoreCase);

    private static string ReasonPrefix(VrrpSyncGroupSettings group) => $"sync group {group.Name}:";

    private void Run(Action action)
    {
        if (_queue is null)
        {
            action();
        }
        else
        {
            _queue.Writer.TryWrite(action);
        }
    }

    private async Task RunQueueAsync()
    {
        await foreach (var action in _queue!.Reader.ReadAllAsync())
        {
            if (_stopped)
            {
                return;
            }

            try
            {
                action();
            }
            catch (Exception exception)
            {
                // One failed action must not end the queue, or the groups would stop following for good.
                Log.ActionFailed(_logger, exception);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.VrrpSyncGroupFollowed, LogLevel.Information,
            "Sync group {Group}: router {Router} followed router {Leader} to {State}")]
        public static partial void MemberFollowed(ILogger logger, string group, string router, string leader, VrrpState state);

        [LoggerMessage(EventIds.VrrpSyncGroupHandingOver, LogLevel.Information,
            "Sync group {Group}: router {Router} hands over because router {Leader} left Master for {State}")]
        public static partial void MemberHandingOver(ILogger logger, string group, string router, string leader, VrrpState state);

        [LoggerMessage(EventIds.VrrpSyncGroupHandOverEnded, LogLevel.Information,
            "Sync group {Group}: the hand-over of router {Router} ended with {Result}")]
        public static partial void MemberHandOverEnded(ILogger logger, string group, string router, string result);

        [LoggerMessage(EventIds.VrrpSyncGroupNotFollowing, LogLevel.Information,
            "Sync group {Group}: router {Router} does not follow router {Leader} to {State} now because {Why}")]
        public static partial void MemberNotFollowing(ILogger logger, string group, string router, string leader, VrrpState state, string why);

        [LoggerMessage(EventIds.VrrpSyncGroupActionFailed, LogLevel.Error,
            "A sync group action failed; the groups keep following later state changes")]
        public static partial void ActionFailed(ILogger logger, Exception exception);
    }
}
