namespace Tandem.Node.Logging;

/// <summary>
/// Event ids of every log message of the node, in one table so they stay unique. The node uses the range 1000 to
/// 1999, and the session store uses 2000 to 2999.
/// </summary>
internal static class EventIds
{
    // Startup and shutdown: 1000-1099.
    public const int NodeStarting = 1000;
    public const int VrrpDisabled = 1001;
    public const int InProcessStoreSelected = 1002;
    public const int RedisStoreSelected = 1003;
    public const int ConfigurationWarning = 1004;
    public const int NodeStartFailed = 1005;

    // VRRP: 1100-1199.
    public const int VrrpStarting = 1100;
    public const int VrrpStarted = 1101;
    public const int VrrpStateChanged = 1102;
    public const int VrrpStopping = 1103;
    public const int VrrpStopped = 1104;
    public const int VrrpStartFailed = 1105;
    public const int VrrpStopFailed = 1106;
    public const int VrrpReleasing = 1107;
    public const int VrrpReleased = 1108;
    public const int VrrpReleaseFailed = 1109;
    public const int VrrpNothingToRelease = 1110;
    public const int VrrpSyncGroupFollowed = 1150;
    public const int VrrpSyncGroupHandingOver = 1151;
    public const int VrrpSyncGroupHandOverEnded = 1152;
    public const int VrrpSyncGroupNotFollowing = 1153;
    public const int VrrpSyncGroupActionFailed = 1154;
    public const int VrrpTrackCheckFailed = 1160;

    // Session affinity: 1200-1299.
    public const int AffinityCookieRejected = 1200;
    public const int PinnedDestinationUnavailable = 1201;
    public const int PinNotShared = 1202;
    public const int PinCreated = 1203;
    public const int RoutedByHint = 1204;
    public const int Repinned = 1205;
    public const int UnhealthyPinRejected = 1206;

    // Monitoring and the management listener: 1300-1399.
    public const int ManagementListening = 1300;
    public const int ManagementDisabled = 1301;
    public const int ManagementCallDenied = 1302;
    public const int MonitoringPollFailed = 1303;
    public const int HeartbeatsStarted = 1304;
    public const int HeartbeatFailed = 1305;
    public const int HeartbeatInvalid = 1306;
    public const int CertificateExpiring = 1307;
    public const int HeartbeatRemoveFailed = 1308;
    public const int Degraded = 1309;
    public const int DegradedCleared = 1310;

    // Control calls (switchover, maintenance): 1400-1499.
    public const int ControlCallRejected = 1400;
    public const int SwitchoverRequested = 1401;
    public const int SwitchoverCompleted = 1402;
    public const int MaintenanceSet = 1403;
    public const int ControlCallFailed = 1404;
    public const int ControlConnectionsStillOpen = 1405;
    public const int ProxyListenerQuiet = 1406;
    public const int ProxyConnectionsOpenAtAdvert = 1407;
    public const int ProxyListenerCloseFailed = 1408;
    public const int ProxyListenerOpenFailed = 1409;
}
