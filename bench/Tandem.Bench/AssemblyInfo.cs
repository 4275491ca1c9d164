using System.Runtime.Versioning;

// The replication benchmark uses the namespace lab, which runs only on Linux.
[assembly: SupportedOSPlatform("linux")]
