using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tandem.SessionStore.Tests;

/// <summary>Keeps every formatted log message, with its exception text, for assertions.</summary>
public sealed class CollectingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Text)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, int EventId, string Text)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(CollectingLoggerProvider owner) : ILogger
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
            owner._entries.Enqueue((logLevel, eventId.Id, formatter(state, exception) + " " + exception));
        }
    }
}
