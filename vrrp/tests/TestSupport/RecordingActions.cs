using Tandem.Vrrp.StateMachine;

namespace Tandem.Vrrp.Tests.TestSupport;

/// <summary>Records the state machine's actions as short strings: "send 100", "claim", "announce", "release".</summary>
internal sealed class RecordingActions : IVirtualRouterActions
{
    private readonly List<string> _actions = [];

    public IReadOnlyList<string> Actions
    {
        get
        {
            lock (_actions)
            {
                return [.. _actions];
            }
        }
    }

    public int SentCount(byte priority) => Actions.Count(a => a == $"send {priority}");

    public void Clear()
    {
        lock (_actions)
        {
            _actions.Clear();
        }
    }

    public void SendAdvertisement(byte priority) => Add($"send {priority}");

    public void ClaimAddresses() => Add("claim");

    public void AnnounceAddresses() => Add("announce");

    public void ReleaseAddresses() => Add("release");

    public void ReleaseAddressesAfterHandOver() => Add("release after hand-over");

    private void Add(string action)
    {
        lock (_actions)
        {
            _actions.Add(action);
        }
    }
}
