using System.Runtime.Versioning;

// The lab is made of Linux network namespaces, veth pairs and signals.
[assembly: SupportedOSPlatform("linux")]
