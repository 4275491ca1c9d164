using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tandem.Node.Tests.Support;

/// <summary>Keeps every formatted log message for assertions.</summary>
public sealed class CollectingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, int EventId, string Text)> _entries = new();

    public IReadOnlyCollection<(string Category, LogLevel Level, int EventId, string Text)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(CollectingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            owner._entries.Enqueue((category, logLevel, eventId.Id, formatter(state, exception)));
        }
    }
}
