namespace Tandem.ClusterTests.Lab;

/// <summary>A lab service did not become ready; the message quotes the logs of the lab processes.</summary>
public sealed class LabStartupException(string message) : Exception(message);
