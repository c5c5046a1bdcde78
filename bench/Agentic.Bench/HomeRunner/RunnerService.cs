using System.Text.Json;
using Agentic.Azure;
using Agentic.Core.Json;
using Azure;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Bench.HomeRunner;

/// <summary>
/// The local runner's background work: provisions storage, then pumps the control queue (events and
/// timers), the work queue (activities) and the run-request queue, and sweeps the outbox. On shutdown it
/// stops taking messages, lets work in hand finish within the grace period and releases the rest.
/// </summary>
public sealed class RunnerService<TInput, TState> : BackgroundService
{
    private readonly DurableRunner<TInput, TState> _runner;
    private readonly StorageClients _storage;
    private readonly PayloadStore _payloads;
    private readonly TableGovernanceStore _governance;
    private readonly RunRequestListener _requests;
    private readonly RunnerOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly QueuePump _controlPump;
    private readonly QueuePump _workPump;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wires the pumps.</summary>
    public RunnerService(
        DurableRunner<TInput, TState> runner,
        ActivityWorker<TInput, TState> worker,
        StorageClients storage,
        PayloadStore payloads,
        TableGovernanceStore governance,
        RunRequestListener requests,
        IOptions<RunnerOptions> options,
        TimeProvider clock,
        ILogger<RunnerService<TInput, TState>> logger)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(options);
        _runner = runner;
        _storage = storage;
        _payloads = payloads;
        _governance = governance;
        _requests = requests;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        var maxPoll = TimeSpan.FromMilliseconds(_options.MaxPollMilliseconds);
        _controlPump = new QueuePump(runner.ControlQueue, _options.MaxConcurrentEvents, TimeSpan.FromSeconds(_options.ControlLeaseSeconds), maxPoll, HandleControlAsync, logger);
        _workPump = new QueuePump(runner.WorkQueue, _options.MaxConcurrentActivities, TimeSpan.FromSeconds(_options.WorkLeaseSeconds), maxPoll, worker.HandleAsync, logger);
        runner.Enqueued += queue => (queue == runner.WorkQueue ? _workPump : _controlPump).Wake();
    }

    /// <summary>Completes once tables, queues and the payload container exist.</summary>
    public Task Ready => _ready.Task;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ProvisionAsync(stoppingToken);
        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        _ready.TrySetResult();
        var grace = TimeSpan.FromSeconds(_options.ShutdownGraceSeconds);
        await Task.WhenAll(
            _controlPump.RunAsync(grace, stoppingToken),
            _workPump.RunAsync(grace, stoppingToken),
            _requests.RunAsync(grace, stoppingToken),
            SweepAsync(stoppingToken));
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _controlPump.Dispose();
        _workPump.Dispose();
        base.Dispose();
    }

    private async Task ProvisionAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _runner.RunsTable.CreateIfNotExistsAsync(stoppingToken);
                await _governance.Table.CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableControlStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TablePolicyStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                foreach (var queue in new[] { _runner.WorkQueue, _runner.ControlQueue, _storage.Queue("work-poison"), _storage.Queue("control-poison") })
                {
                    await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                }
                await _requests.ProvisionAsync(stoppingToken);
                await _payloads.Container.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                return;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
            {
                _logger.StorageWaiting(ex.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<MessageOutcome> HandleControlAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var control = Wire.Read<ControlMessage>(message, c =>
            string.IsNullOrEmpty(c.RunId) || string.IsNullOrEmpty(c.EventId) || (c.Event is null && c.EventRef is null && c.Timer is null)
                ? "it needs a run id, an event id and an event, an event reference or a timer" : null, out var problem);
        if (control is null)
        {
            return await Poison.UnreadableAsync(_storage.Queue("control-poison"), message, "Not a control message: " + problem, _options.MaxDequeueCount, _runner.FailAsync, _clock, _logger, cancellationToken);
        }
        // Deliveries cut short by a crash count too, so an event is judged by applying it: only one that still fails
        // after the configured number of deliveries is poison. Duplicates and stale events apply as no-ops.
        try
        {
            await _runner.ApplyAsync(control, message.DequeueCount, cancellationToken);
        }
        catch (Exception ex) when (message.DequeueCount >= _options.MaxDequeueCount && ex is not OperationCanceledException)
        {
            var reason = $"Event {control.EventId} could not be applied after {message.DequeueCount} deliveries ({ex.GetType().Name}: {ex.Message}); moved to {_storage.Queue("control-poison").Name}.";
            await Poison.MoveAsync(_storage.Queue("control-poison"), message, reason, _clock, _logger, cancellationToken);
            await _runner.FailAsync(control.RunId, reason, cancellationToken);
        }
        return MessageOutcome.Complete;
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.SweepSeconds), _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await _runner.SweepAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
                {
                    _logger.SweepFailed(ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
