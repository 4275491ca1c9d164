namespace Tandem.ClusterTests.Lab.Drill;

/// <summary>The drill could not start measuring, for example because no single node held the virtual address.</summary>
public sealed class DrillException(string message) : Exception(message);
