using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Agentic.Runtime.Tests.Infrastructure;

/// <summary>Keeps the last log lines of an in-process runtime so a failing test can show what the runtime did.</summary>
internal sealed class MemoryLog : ILoggerProvider
{
    private const int Capacity = 2000;
    private readonly ConcurrentQueue<string> _lines = new();

    public string Tail(int lines) => string.Join('\n', _lines.TakeLast(lines));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(MemoryLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var error = exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]";
            log.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{error}");
        }
    }
}
