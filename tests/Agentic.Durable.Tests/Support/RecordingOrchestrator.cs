using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agentic.Durable.Tests.Support;

/// <summary>
/// One execution of an orchestrator function by the worker (the engine replays the whole history on every wake-up):
/// the commands it issued, in order, as canonical strings.
/// </summary>
internal sealed class Episode(string instanceId, int generation, bool startedReplaying)
{
    private readonly List<string> _commands = [];

    public string InstanceId { get; } = instanceId;

    /// <summary>The ContinueAsNew generation the episode ran in (0 for the first execution).</summary>
    public int Generation { get; } = generation;

    /// <summary>Whether the engine started the episode by replaying recorded history.</summary>
    public bool StartedReplaying { get; } = startedReplaying;

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public void Add(string command)
    {
        lock (_commands)
        {
            _commands.Add(command);
        }
    }
}

/// <summary>Every episode of every instance, in the order the worker ran them.</summary>
internal sealed class OrchestrationRecorder
{
    private readonly ConcurrentDictionary<string, List<Episode>> _episodes = new(StringComparer.Ordinal);

    public Episode Begin(string instanceId, int generation, bool replaying)
    {
        var episode = new Episode(instanceId, generation, replaying);
        var list = _episodes.GetOrAdd(instanceId, _ => []);
        lock (list)
        {
            list.Add(episode);
        }
        return episode;
    }

    public IReadOnlyList<Episode> Episodes(string instanceId)
    {
        if (!_episodes.TryGetValue(instanceId, out var list))
        {
            return [];
        }
        lock (list)
        {
            return [.. list];
        }
    }
}

/// <summary>
/// Runs the real orchestrator with a context that notes every command it issues. Nothing is changed on the way: each
/// call goes to the engine's own context, so the orchestrator behaves exactly as it does unobserved.
/// </summary>
internal sealed class RecordingOrchestrator(ITaskOrchestrator inner, OrchestrationRecorder recorder) : ITaskOrchestrator
{
    public Type InputType => inner.InputType;

    public Type OutputType => inner.OutputType;

    public Task<object?> RunAsync(TaskOrchestrationContext context, object? input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var episode = recorder.Begin(context.InstanceId, GenerationOf(input), context.IsReplaying);
        return inner.RunAsync(new RecordingContext(context, episode), input);
    }

    private static int GenerationOf(object? input) =>
        input is JsonElement { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("generation", out var g) && g.TryGetInt32(out var n) ? n : 0;

    private sealed class RecordingContext(TaskOrchestrationContext inner, Episode episode) : TaskOrchestrationContext
    {
        public override TaskName Name => inner.Name;

        public override string InstanceId => inner.InstanceId;

        public override ParentOrchestrationInstance? Parent => inner.Parent;

        public override DateTime CurrentUtcDateTime => inner.CurrentUtcDateTime;

        public override bool IsReplaying => inner.IsReplaying;

        public override string Version => inner.Version;

        public override IReadOnlyDictionary<string, object?> Properties => inner.Properties;

        public override TaskOrchestrationEntityFeature Entities => inner.Entities;

        protected override ILoggerFactory LoggerFactory => NullLoggerFactory.Instance;

        public override T? GetInput<T>() where T : default => inner.GetInput<T>();

        public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
        {
            episode.Add($"activity {name.Name} retry={RetryOf(options)} {Json(input)}");
            return inner.CallActivityAsync<TResult>(name, input, options);
        }

        public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
        {
            // The delay from the orchestration's own clock: what a replay must reproduce exactly.
            episode.Add($"timer +{(fireAt - inner.CurrentUtcDateTime).ToString("c", CultureInfo.InvariantCulture)}");
            return inner.CreateTimer(fireAt, cancellationToken);
        }

        public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
        {
            episode.Add($"wait {eventName}");
            return inner.WaitForExternalEvent<T>(eventName, cancellationToken);
        }

        public override void SendEvent(string instanceId, string eventName, object payload) =>
            inner.SendEvent(instanceId, eventName, payload);

        public override void SetCustomStatus(object? customStatus) => inner.SetCustomStatus(customStatus);

        public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null)
        {
            episode.Add($"sub-orchestration {orchestratorName.Name} {Json(input)}");
            return inner.CallSubOrchestratorAsync<TResult>(orchestratorName, input, options);
        }

        public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true)
        {
            episode.Add($"continue-as-new preserve={preserveUnprocessedEvents}");
            inner.ContinueAsNew(newInput, preserveUnprocessedEvents);
        }

        public override Guid NewGuid()
        {
            episode.Add("new-guid");
            return inner.NewGuid();
        }

        private static string Json(object? value) => value is JsonElement element ? element.GetRawText() : JsonSerializer.Serialize(value);

        private static string RetryOf(TaskOptions? options) => options?.Retry switch
        {
            { Policy: { } p } => string.Create(CultureInfo.InvariantCulture, $"{p.MaxNumberOfAttempts}x{p.FirstRetryInterval.TotalMilliseconds}ms*{p.BackoffCoefficient}<={p.MaxRetryInterval.TotalMilliseconds}ms"),
            { Handler: not null } => "handler",
            _ => "none",
        };
    }
}
