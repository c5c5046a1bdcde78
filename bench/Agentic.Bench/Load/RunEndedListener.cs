using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Agentic.Bench.Load;

/// <summary>A log event that tells the driver something about a run: its category, its event id and, optionally, the
/// value its <c>Phase</c> must have.</summary>
internal sealed record RunSignal(string Category, int EventId, string? Phase = null);

/// <summary>
/// Learns that runs ended (or parked on an approval) from the runtime's own log events, so waiting for thousands of runs
/// costs no storage reads that would load the storage being measured: the orchestrator's replay-safe "Run {RunId}
/// ended" (event 4 of <c>Agentic.Durable.AgentRunOrchestrator</c>, logged once, by the episode that returns, before
/// the engine commits it) and its "{Change} applied, now {Phase}" (event 2, Debug). Also counts the warnings and errors
/// the runtime logs, which a clean benchmark run should not have.
/// </summary>
internal sealed class RunEndedListener : ILoggerProvider
{
    private readonly RunSignal _endedSignal;
    private readonly RunSignal? _parkedSignal;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _ended = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _parked = new(StringComparer.Ordinal);
    private int _parkedCount;

    public RunEndedListener(RunSignal ended, RunSignal? parked = null)
    {
        _endedSignal = ended;
        _parkedSignal = parked;
        Categories = parked is null ? [ended.Category] : [.. new[] { ended.Category, parked.Category }.Distinct()];
    }

    /// <summary>Warnings and errors by category and event.</summary>
    public ConcurrentDictionary<string, int> Problems { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs seen parking so far.</summary>
    public int ParkedCount => Volatile.Read(ref _parkedCount);

    /// <summary>The categories to let through at <see cref="LogLevel.Debug"/> (filters are set on the logging builder).</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <summary>Completes with the run's final status when the runtime logs its end.</summary>
    public Task<string> EndedAsync(string runId) => _ended.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Completes when the run logs that it waits for an approval.</summary>
    public Task ParkedAsync(string runId) => _parked.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Forgets runs already waited for, so a long idle run keeps no per-run state in the driver.</summary>
    public void Forget(string runId)
    {
        _ended.TryRemove(runId, out _);
        _parked.TryRemove(runId, out _);
    }

    public ILogger CreateLogger(string categoryName) => new Listener(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Listener(RunEndedListener owner, string category) : ILogger
    {
        private readonly bool _watched = owner.Categories.Contains(category, StringComparer.Ordinal);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning || (_watched && logLevel >= LogLevel.Debug);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                owner.Problems.AddOrUpdate($"{category}/{eventId.Id} {eventId.Name}", 1, (_, n) => n + 1);
            }
            if (!_watched || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }
            if (eventId.Id == owner._endedSignal.EventId && category == owner._endedSignal.Category)
            {
                if (Value(values, "RunId") is { } runId)
                {
                    owner._ended.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(Value(values, "Status") ?? "?");
                }
            }
            else if (owner._parkedSignal is { } p && eventId.Id == p.EventId && category == p.Category && Value(values, "Phase") == p.Phase
                && Value(values, "RunId") is { } runId
                && owner._parked.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult())
            {
                Interlocked.Increment(ref owner._parkedCount);
            }
        }

        private static string? Value(IReadOnlyList<KeyValuePair<string, object?>> values, string key)
        {
            foreach (var (k, v) in values)
            {
                if (k == key)
                {
                    return v?.ToString();
                }
            }
            return null;
        }
    }
}
