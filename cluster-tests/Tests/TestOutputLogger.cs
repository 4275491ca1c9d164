using Microsoft.Extensions.Logging;

namespace Tandem.ClusterTests.Tests;

/// <summary>Writes lab log messages into the test output, so a failed test shows what the lab did.</summary>
internal sealed class TestOutputLogger(ITestOutputHelper output, TimeProvider timeProvider) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        string line = $"{timeProvider.GetUtcNow():HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}";
        try
        {
            output.WriteLine(exception is null ? line : $"{line}{Environment.NewLine}{exception}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished; teardown messages after that have nowhere to go.
        }
    }
}
