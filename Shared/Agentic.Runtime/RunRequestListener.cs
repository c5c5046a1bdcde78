using Agentic.Azure;
using Agentic.Core.Runs;
using Agentic.Durable;
using Agentic.Runtime.Engine;
using Agentic.Runtime.Queues;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime;

/// <summary>
/// The queue trigger of the local host: every message on <c>agent-runs</c> is a run request body. A
/// message that is not a valid request goes straight to <c>agent-runs-poison</c> with the reason (it
/// would fail the same way every time); one whose start keeps failing goes there after the configured
/// dequeue count. Requests made through the queue run as the principal <c>queue:agent-runs</c>.
/// </summary>
public sealed class RunRequestListener : IDisposable
{
    /// <summary>The queue name, shared with the Azure Functions queue trigger.</summary>
    public const string QueueName = "agent-runs";

    /// <summary>The principal recorded for queue-submitted runs.</summary>
    public const string Principal = "queue:" + QueueName;

    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly AgentRunClient _runs;
    private readonly RunAdmissions _admissions;
    private readonly TimeProvider _clock;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly QueuePump _pump;

    /// <summary>Creates the listener.</summary>
    public RunRequestListener(StorageClients storage, AgentRunClient runs, RunAdmissions admissions, TimeProvider clock, IOptions<EngineOptions> options, ILogger<RunRequestListener> logger)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        _queue = storage.Queues.GetQueueClient(QueueName);
        _poison = storage.Queues.GetQueueClient(QueueName + "-poison");
        _runs = runs;
        _admissions = admissions;
        _clock = clock;
        _options = options.Value;
        _logger = logger;
        _pump = new QueuePump(_queue, 8, TimeSpan.FromSeconds(_options.RequestVisibilitySeconds), TimeSpan.FromMilliseconds(_options.MaxPollMilliseconds), HandleAsync, logger);
    }

    internal async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    internal Task RunAsync(TimeSpan grace, CancellationToken stoppingToken) => _pump.RunAsync(grace, stoppingToken);

    /// <inheritdoc />
    public void Dispose() => _pump.Dispose();

    private async Task<MessageOutcome> HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        if (message.DequeueCount > _options.MaxDequeueCount)
        {
            await Poison.MoveAsync(_poison, message, $"The run could not be started after {message.DequeueCount} deliveries.", _clock, _logger, cancellationToken);
            return MessageOutcome.Complete;
        }
        // Against the agents offered now; a catalog that can not be read throws, and the message is delivered again.
        var admission = await _admissions.CurrentAsync(cancellationToken);
        RunRequest request;
        try
        {
            request = RunRequestParser.Parse(message.Body.ToMemory().Span, Principal, admission);
        }
        catch (InputException ex)
        {
            _logger.RunRequestRejected(_poison.Name, ex.Message);
            await Poison.MoveAsync(_poison, message, ex.Message, _clock, _logger, cancellationToken);
            return MessageOutcome.Complete;
        }
        // A redelivered message must not start a second run: without a key of its own, the message id is the key.
        request = request with { IdempotencyKey = request.IdempotencyKey ?? "msg:" + message.MessageId };
        await _runs.SubmitAsync(request, Agentic.Core.Audit.RunTrigger.Queue, cancellationToken);
        return MessageOutcome.Complete;
    }
}
