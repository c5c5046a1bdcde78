using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Json;
using Agentic.Core.Workflow;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Bench.HomeRunner;

/// <summary>
/// Runs a decider durably on Azure Storage. Each run is one table partition: the <c>run</c> row holds the
/// state snapshot, the outstanding command ids and an ETag; <c>out|</c> rows are the outbox of commands
/// not yet dispatched; <c>evt|</c> rows record every applied event id. Applying an event commits the new
/// state, the event row and the new outbox rows in one entity-group transaction, then dispatches the
/// outbox to the work and control queues. A redelivered event collides with its event row and is
/// applied once; a crash between commit and dispatch is repaired by the redelivery or by the sweeper.
/// </summary>
public sealed class DurableRunner<TInput, TState>
{
    private const string RunRow = "run";
    private const string OutPrefix = "out|";
    private const string EvtPrefix = "evt|";
    private const int MaxCachedRuns = 4096;

    private readonly IDecider<TInput, TState> _decider;
    private readonly TableClient _runs;
    private readonly QueueClient _work;
    private readonly QueueClient _control;
    private readonly PayloadStore _payloads;
    private readonly TimeProvider _clock;
    private readonly RunnerOptions _options;
    private readonly int _maxInline;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);
    private readonly KeyedLock _locks = new();

    /// <summary>Creates a runner over the hub's tables and queues.</summary>
    public DurableRunner(IDecider<TInput, TState> decider, StorageClients storage, PayloadStore payloads, TimeProvider clock, IOptions<RunnerOptions> options, ILogger<DurableRunner<TInput, TState>> logger)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        _decider = decider;
        _runs = storage.Table("runs");
        _work = storage.Queue("work");
        _control = storage.Queue("control");
        _payloads = payloads;
        _clock = clock;
        _options = options.Value;
        _maxInline = storage.Options.MaxInlineBytes;
        _logger = logger;
    }

    /// <summary>The runs table.</summary>
    public TableClient RunsTable => _runs;

    /// <summary>The work queue (activity attempts).</summary>
    public QueueClient WorkQueue => _work;

    /// <summary>The control queue (events and timers).</summary>
    public QueueClient ControlQueue => _control;

    /// <summary>Raised after this process enqueued to the work or control queue, so local pumps poll at once.</summary>
    public event Action<QueueClient>? Enqueued;

    /// <summary>
    /// Starts a run with id <paramref name="runId"/>. If a run with that id exists, nothing is started and
    /// <c>false</c> is returned (callers derive the id from an idempotency key to get at-most-once starts).
    /// </summary>
    public async Task<bool> StartAsync(string runId, TInput input, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var now = _clock.GetUtcNow();
        var state = _decider.Start(input, new StartContext(runId, now));
        var commands = _decider.Decide(state);
        var entity = new TableEntity(runId, RunRow) { ["CreatedAt"] = now, ["Events"] = 0 };
        await SetStateAsync(entity, state, commands, now, cancellationToken);
        var outbox = await OutboxAsync(runId, commands, [], now, cancellationToken);
        var batch = new List<TableTransactionAction> { new(TableTransactionActionType.Add, entity) };
        batch.AddRange(outbox.Select(o => new TableTransactionAction(TableTransactionActionType.UpsertReplace, o)));
        try
        {
            await _runs.SubmitTransactionAsync(batch, cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
        {
            // Already started: make sure it is not stuck behind a crash before its first dispatch.
            await DispatchPendingAsync(runId, cancellationToken);
            return false;
        }
        _logger.RunStarted(runId);
        await DispatchAsync(outbox, cancellationToken);
        return true;
    }

    /// <summary>Reads a run, or <c>null</c> if there is none with that id.</summary>
    public async Task<RunRecord<TState>?> GetAsync(string runId, CancellationToken cancellationToken)
    {
        var response = await _runs.GetEntityIfExistsAsync<TableEntity>(runId, RunRow, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        var state = await ReadStateAsync(entity, cancellationToken);
        return ToRecord(entity, state);
    }

    /// <summary>Delivers an external event (an approval) to a run through the control queue.</summary>
    public Task RaiseEventAsync(string runId, string name, JsonElement payload, CancellationToken cancellationToken) =>
        SendControlAsync(new ControlMessage(runId, "ext:" + Guid.NewGuid().ToString("N"), new EventRaised(name, payload, _clock.GetUtcNow()), null, null), TimeSpan.Zero, cancellationToken);

    /// <summary>Asks a run to stop; it ends as terminated when the event is applied.</summary>
    public Task TerminateAsync(string runId, string reason, string by, CancellationToken cancellationToken) =>
        SendControlAsync(new ControlMessage(runId, "terminate", new RunTerminated(reason, by, _clock.GetUtcNow()), null, null), TimeSpan.Zero, cancellationToken);

    /// <summary>
    /// Applies one control message. Returns when the event is committed (or known to be applied already)
    /// and everything it emitted is dispatched; throws when storage fails, so the message is retried.
    /// </summary>
    public async Task ApplyAsync(ControlMessage message, long dequeueCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var now = _clock.GetUtcNow();
        if (message.Timer is { } timer && timer.FireAt > now + TimeSpan.FromSeconds(1))
        {
            // Queue messages can be hidden for at most 7 days: longer timers re-arm until they are due.
            await SendControlAsync(message, timer.FireAt - now, cancellationToken);
            return;
        }
        var change = message.Timer is { } due
            ? new TimerFired(due.CommandId, now)
            : message.EventRef is { } reference
                ? JsonSerializer.Deserialize<WorkflowEvent>(await _payloads.GetAsync(reference, cancellationToken), AgenticJson.Options)!
                : message.Event ?? throw new InvalidDataException("A control message must carry an event, an event reference or a timer.");

        using var held = await _locks.AcquireAsync(message.RunId, cancellationToken);
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var current = await LoadAsync(message.RunId, cancellationToken);
            if (current is null)
            {
                _logger.UnknownRun(message.RunId);
                return;
            }
            var (entity, state, _) = current;
            if (_decider.IsTerminal(state) || entity.GetString("RunnerFailure") is not null)
            {
                return;
            }
            var next = _decider.Evolve(state, change);
            if (ReferenceEquals(next, state) && current.FromCache)
            {
                // Another process may have moved the run on since it was cached: an event that looks
                // stale against the cached state must be judged against the stored one.
                _cache.TryRemove(message.RunId, out _);
                continue;
            }
            if (ReferenceEquals(next, state))
            {
                _logger.EventIgnored(message.RunId, message.EventId);
                if (dequeueCount > 1)
                {
                    await DispatchPendingAsync(message.RunId, cancellationToken);
                }
                return;
            }
            var commands = _decider.Decide(next);
            var issued = Outstanding(entity);
            var updated = new TableEntity(message.RunId, RunRow) { ETag = entity.ETag };
            foreach (var key in new[] { "CreatedAt", "Events" })
            {
                updated[key] = entity[key];
            }
            updated["Events"] = (entity.GetInt32("Events") ?? 0) + 1;
            await SetStateAsync(updated, next, commands, now, cancellationToken);
            var outbox = await OutboxAsync(message.RunId, commands, issued, now, cancellationToken);
            var batch = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateReplace, updated, entity.ETag),
                new(TableTransactionActionType.Add, new TableEntity(message.RunId, EvtPrefix + Key(message.EventId))
                {
                    ["Kind"] = change.GetType().Name,
                    ["At"] = change.At,
                }),
            };
            batch.AddRange(outbox.Select(o => new TableTransactionAction(TableTransactionActionType.UpsertReplace, o)));
            try
            {
                var responses = await _runs.SubmitTransactionAsync(batch, cancellationToken);
                updated.ETag = responses.Value[0].Headers.ETag ?? default;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 412)
            {
                _cache.TryRemove(message.RunId, out _);
                _logger.Contention(message.RunId, attempt);
                continue;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                // The event row exists: this event was applied before (a redelivery).
                _cache.TryRemove(message.RunId, out _);
                _logger.EventIgnored(message.RunId, message.EventId);
                await DispatchPendingAsync(message.RunId, cancellationToken);
                return;
            }
            if (_decider.IsTerminal(next))
            {
                _cache.TryRemove(message.RunId, out _);
                var status = StatusOf(next, commands);
                _logger.RunEnded(message.RunId, status);
            }
            else
            {
                if (_cache.Count >= MaxCachedRuns)
                {
                    _cache.Clear();
                }
                _cache[message.RunId] = new Cached(updated, next, FromCache: true);
            }
            await DispatchAsync(outbox, cancellationToken);
            return;
        }
        throw new InvalidOperationException($"Run {message.RunId}: gave up after 10 concurrent updates; the event will be retried.");
    }

    /// <summary>
    /// Fails a run outside its decider, for a message that could not be processed (poison). The reason is
    /// recorded on the run and the run stops taking events.
    /// </summary>
    public async Task FailAsync(string runId, string reason, CancellationToken cancellationToken)
    {
        _cache.TryRemove(runId, out _);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var response = await _runs.GetEntityIfExistsAsync<TableEntity>(runId, RunRow, cancellationToken: cancellationToken);
            if (!response.HasValue)
            {
                _logger.UnknownRun(runId);
                return;
            }
            var entity = response.Value!;
            if (entity.GetString("Status") != nameof(RunStatus.Running))
            {
                return; // It ended meanwhile: keep its own outcome.
            }
            var update = new TableEntity(runId, RunRow)
            {
                ["Status"] = RunStatus.Failed.ToString(),
                ["RunnerFailure"] = reason,
                ["Outstanding"] = "[]",
                ["UpdatedAt"] = _clock.GetUtcNow(),
            };
            try
            {
                await _runs.UpdateEntityAsync(update, entity.ETag, TableUpdateMode.Merge, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Moved on while we looked: look again.
            }
        }
    }

    /// <summary>Whether a run is still going and waiting for the command <paramref name="commandId"/>.</summary>
    public async Task<bool> IsOutstandingAsync(string runId, string commandId, CancellationToken cancellationToken)
    {
        var response = await _runs.GetEntityIfExistsAsync<TableEntity>(runId, RunRow, cancellationToken: cancellationToken);
        return response.HasValue
            && response.Value!.GetString("Status") == nameof(RunStatus.Running)
            && response.Value.GetString("RunnerFailure") is null
            && Outstanding(response.Value).Contains(commandId);
    }

    /// <summary>Dispatches outbox rows older than the stale threshold: those a crash left behind.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var cutoff = _clock.GetUtcNow() - TimeSpan.FromSeconds(_options.OutboxStaleSeconds);
        var stale = new List<TableEntity>();
        var filter = TableClient.CreateQueryFilter($"RowKey ge {OutPrefix} and RowKey lt {"out}"} and Timestamp le {cutoff}");
        await foreach (var row in _runs.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            stale.Add(row);
        }
        foreach (var run in stale.GroupBy(r => r.PartitionKey))
        {
            List<TableEntity> rows = [.. run];
            var count = rows.Count;
            _logger.Redispatched(run.Key, count);
            await DispatchAsync(rows, cancellationToken);
        }
        return stale.Count;
    }

    /// <summary>Sends a control message, hidden for <paramref name="delay"/> (capped below the queue's 7-day limit).</summary>
    internal async Task SendControlAsync(ControlMessage message, TimeSpan delay, CancellationToken cancellationToken)
    {
        var visibility = Hidden(delay);
        if (message.Event is { } e)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(e, AgenticJson.Options);
            if (bytes.Length > _maxInline)
            {
                message = message with { Event = null, EventRef = await _payloads.PutAsync(bytes, cancellationToken) };
            }
        }
        await _control.SendMessageAsync(JsonSerializer.Serialize(message, AgenticJson.Options), visibility, cancellationToken: cancellationToken);
        Enqueued?.Invoke(_control);
    }

    /// <summary>Sends a work item, hidden for <paramref name="delay"/> (a retry back-off).</summary>
    internal async Task SendWorkAsync(WorkItem item, TimeSpan delay, CancellationToken cancellationToken)
    {
        await _work.SendMessageAsync(JsonSerializer.Serialize(item, AgenticJson.Options), delay > TimeSpan.Zero ? delay : null, cancellationToken: cancellationToken);
        Enqueued?.Invoke(_work);
    }

    private async Task DispatchPendingAsync(string runId, CancellationToken cancellationToken)
    {
        var pending = new List<TableEntity>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey ge {OutPrefix} and RowKey lt {"out}"}");
        await foreach (var row in _runs.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            pending.Add(row);
        }
        if (pending.Count > 0)
        {
            var count = pending.Count;
            _logger.Redispatched(runId, count);
            await DispatchAsync(pending, cancellationToken);
        }
    }

    private async Task DispatchAsync(List<TableEntity> outbox, CancellationToken cancellationToken)
    {
        if (outbox.Count == 0)
        {
            return;
        }
        var now = _clock.GetUtcNow();
        foreach (var row in outbox)
        {
            var body = row.GetString("Body")!;
            var delay = (row.GetDateTimeOffset("VisibleAt") ?? now) - now;
            if (row.GetString("Queue") == "work")
            {
                await _work.SendMessageAsync(body, cancellationToken: cancellationToken);
                Enqueued?.Invoke(_work);
            }
            else
            {
                await _control.SendMessageAsync(body, Hidden(delay), cancellationToken: cancellationToken);
                Enqueued?.Invoke(_control);
            }
        }
        try
        {
            await _runs.SubmitTransactionAsync(outbox.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), cancellationToken);
        }
        catch (TableTransactionFailedException)
        {
            // A row went already (another process dispatched it too); the rest are swept. Duplicates are deduplicated.
        }
    }

    private async Task<List<TableEntity>> OutboxAsync(string runId, IReadOnlyList<WorkflowCommand> commands, HashSet<string> issued, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        foreach (var command in commands)
        {
            if (issued.Contains(command.Id))
            {
                continue;
            }
            switch (command)
            {
                case CallActivity call:
                {
                    var input = JsonSerializer.SerializeToUtf8Bytes(call.Input, AgenticJson.Options);
                    var item = input.Length > _maxInline
                        ? new WorkItem(runId, call.Id, call.Name, null, await _payloads.PutAsync(input, cancellationToken), 1, call.Retry, call.Timeout)
                        : new WorkItem(runId, call.Id, call.Name, call.Input, null, 1, call.Retry, call.Timeout);
                    rows.Add(Outbox(runId, call.Id, "work", JsonSerializer.Serialize(item, AgenticJson.Options), now));
                    break;
                }
                case StartTimer timer:
                {
                    var message = new ControlMessage(runId, "timer:" + timer.Id, null, null, new TimerMessage(timer.Id, timer.FireAt));
                    rows.Add(Outbox(runId, timer.Id, "control", JsonSerializer.Serialize(message, AgenticJson.Options), timer.FireAt));
                    break;
                }
            }
        }
        return rows;
    }

    private static TableEntity Outbox(string runId, string commandId, string queue, string body, DateTimeOffset visibleAt) =>
        new(runId, OutPrefix + Key(commandId)) { ["Queue"] = queue, ["Body"] = body, ["VisibleAt"] = visibleAt };

    private async Task SetStateAsync(TableEntity entity, TState state, IReadOnlyList<WorkflowCommand> commands, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(state, AgenticJson.Options);
        if (json.Length > _maxInline)
        {
            var reference = await _payloads.PutAsync(json, cancellationToken);
            entity["State"] = null;
            entity["StateRef"] = JsonSerializer.Serialize(reference, AgenticJson.Options);
        }
        else
        {
            entity["State"] = json;
            entity["StateRef"] = null;
        }
        entity["Status"] = StatusOf(state, commands).ToString();
        entity["Outstanding"] = JsonSerializer.Serialize(commands.Where(c => c is CallActivity or StartTimer or WaitForEvent).Select(c => c.Id), AgenticJson.Options);
        entity["UpdatedAt"] = now;
    }

    private RunStatus StatusOf(TState state, IReadOnlyList<WorkflowCommand> commands) =>
        !_decider.IsTerminal(state) ? RunStatus.Running
        : commands.Any(c => c is CompleteRun) ? RunStatus.Completed
        : commands.Any(c => c is FailRun { Id: "terminate" }) ? RunStatus.Terminated
        : RunStatus.Failed;

    private async Task<Cached?> LoadAsync(string runId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(runId, out var cached))
        {
            return cached;
        }
        var response = await _runs.GetEntityIfExistsAsync<TableEntity>(runId, RunRow, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        return new Cached(entity, await ReadStateAsync(entity, cancellationToken), FromCache: false);
    }

    private async Task<TState> ReadStateAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        var bytes = entity.GetBinary("State")
            ?? await _payloads.GetAsync(JsonSerializer.Deserialize<PayloadRef>(entity.GetString("StateRef")!, AgenticJson.Options)!, cancellationToken);
        return JsonSerializer.Deserialize<TState>(bytes, AgenticJson.Options)!;
    }

    private static HashSet<string> Outstanding(TableEntity entity) =>
        entity.GetString("Outstanding") is { } json
            ? JsonSerializer.Deserialize<HashSet<string>>(json, AgenticJson.Options) ?? []
            : [];

    private static RunRecord<TState> ToRecord(TableEntity entity, TState state) => new(
        entity.RowKey == RunRow ? entity.PartitionKey : throw new InvalidDataException("Not a run row."),
        Enum.Parse<RunStatus>(entity.GetString("Status") ?? nameof(RunStatus.Running)),
        state,
        entity.GetDateTimeOffset("CreatedAt") ?? default,
        entity.GetDateTimeOffset("UpdatedAt") ?? default,
        [.. Outstanding(entity)],
        entity.GetInt32("Events") ?? 0,
        entity.GetString("RunnerFailure"));

    /// <summary>How long a message is hidden: not at all for a due delay, at most just under the queue's 7-day limit (longer timers re-arm).</summary>
    private static TimeSpan? Hidden(TimeSpan delay)
    {
        var max = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1);
        return delay <= TimeSpan.Zero ? null : delay > max ? max : delay;
    }

    /// <summary>Row keys may not hold / \ # ? or control characters: escape ids that might.</summary>
    private static string Key(string id) => Uri.EscapeDataString(id);

    private sealed record Cached(TableEntity Entity, TState State, bool FromCache);
}
