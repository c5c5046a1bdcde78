using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.Load;

/// <summary>
/// Learns that runs ended from the runner's own "Run {RunId} ended: {Status}." log event (EventId 101), so
/// waiting for hundreds of runs costs no storage reads that would load the storage being measured. Also
/// counts the warnings and errors the runtime logs, which a clean benchmark run should not have.
/// </summary>
internal sealed class RunEndedListener : ILoggerProvider
{
    private const int RunEndedEventId = 101;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _runs = new(StringComparer.Ordinal);

    /// <summary>Warnings and errors by event name.</summary>
    public ConcurrentDictionary<string, int> Problems { get; } = new(StringComparer.Ordinal);

    /// <summary>Completes with the run's final status when the runner logs its end.</summary>
    public Task<string> EndedAsync(string runId) => Entry(runId).Task;

    public ILogger CreateLogger(string categoryName) => new Listener(this);

    public void Dispose()
    {
    }

    private TaskCompletionSource<string> Entry(string runId) =>
        _runs.GetOrAdd(runId, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    private sealed class Listener(RunEndedListener owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                owner.Problems.AddOrUpdate($"{eventId.Id} {eventId.Name}", 1, (_, n) => n + 1);
            }
            if (eventId.Id != RunEndedEventId || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }
            var runId = values.FirstOrDefault(v => v.Key == "RunId").Value as string;
            var status = values.FirstOrDefault(v => v.Key == "Status").Value?.ToString() ?? "?";
            if (runId is not null)
            {
                owner.Entry(runId).TrySetResult(status);
            }
        }
    }
}
