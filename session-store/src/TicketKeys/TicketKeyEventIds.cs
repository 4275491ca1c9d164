namespace Tandem.SessionStore.TicketKeys;

/// <summary>Event ids of the ticket-key log messages, in the range 2100 to 2149 of the session store's ids.</summary>
internal static class TicketKeyEventIds
{
    public const int KeyRingRefreshed = 2100;
    public const int KeyRingDegraded = 2101;
    public const int KeyRingLocalKeyCreated = 2102;
    public const int KeyRingRecovered = 2103;
    public const int StorageOperationFailed = 2104;
    public const int StoredKeyInvalid = 2105;
    public const int KeyRingRefreshFailed = 2106;
    public const int KeyRingCachedKeyRestored = 2107;
}
