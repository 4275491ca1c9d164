using System.Net;

namespace Tandem.Vrrp.Packets;

/// <summary>The fields of the IP header that VRRP checks: TTL (or IPv6 Hop Limit), addresses and protocol.</summary>
internal readonly record struct ReceivedIpInfo(IPAddress Source, IPAddress Destination, byte Ttl, byte Protocol);
