using Agentic.Azure;
using Agentic.Core.Agents;
using Agentic.Durable;
using Azure;
using global::DurableTask.AzureStorage;
using global::DurableTask.Core;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agentic.Runtime.Engine;

/// <summary>
/// The local host's engine: a DurableTask.Core <see cref="TaskHubWorker"/> on <see cref="AzureStorageOrchestrationService"/>
/// (the task hub layout Durable Functions writes: <c>{hub}Instances</c>, <c>{hub}History</c>, <c>{hub}-control-NN</c>,
/// <c>{hub}-workitems</c>, leases and large messages), running <see cref="AgentRunOrchestrator"/> and the activities
/// through the Durable Task SDK's shim, the same code the Functions app runs. It provisions the product's own tables and
/// queues too, then runs the <c>agent-runs</c> listener. On shutdown it stops taking work and lets work in hand finish.
/// </summary>
public sealed class EngineService : BackgroundService
{
    private readonly AzureStorageOrchestrationService _service;
    private readonly AgentRunOrchestrator _orchestrator;
    private readonly AgentActivityRunner _activities;
    private readonly StorageClients _storage;
    private readonly TableGovernanceStore _governance;
    private readonly RunRequestListener _requests;
    private readonly EngineOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wires the engine.</summary>
    public EngineService(
        AzureStorageOrchestrationService service,
        AgentRunOrchestrator orchestrator,
        AgentActivityRunner activities,
        StorageClients storage,
        TableGovernanceStore governance,
        RunRequestListener requests,
        IOptions<EngineOptions> options,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _service = service;
        _orchestrator = orchestrator;
        _activities = activities;
        _storage = storage;
        _governance = governance;
        _requests = requests;
        _options = options.Value;
        _loggers = loggers;
        _logger = loggers.CreateLogger<EngineService>();
    }

    /// <summary>Completes once storage is provisioned and the engine takes work.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The engine's settings for a task hub on <paramref name="storage"/>.</summary>
    public static AzureStorageOrchestrationServiceSettings Settings(StorageClients storage, EngineOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        return new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = storage.Options.HubName,
            StorageAccountClientProvider = Clients(storage.Connection, loggers),
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(options.MaxPollMilliseconds),
            ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(options.ControlVisibilitySeconds),
            WorkItemQueueVisibilityTimeout = TimeSpan.FromSeconds(options.WorkItemVisibilitySeconds),
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
            LeaseInterval = lease,
            LeaseRenewInterval = lease / 3,
            LeaseAcquireInterval = lease / 3,
            // Partitions are balanced across every host on the hub (the table partition manager Durable Functions uses);
            // the app lease would let only one host work at a time.
            UseTablePartitionManagement = true,
            UseAppLease = false,
            // Two hosts must not share partition ownership; a restarted host with its old name takes its partitions back.
            WorkerId = string.IsNullOrEmpty(options.WorkerId) ? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}" : options.WorkerId,
            LoggerFactory = loggers,
        };
    }

    // The engine's storage clients; its queues are read through the guard, so a message it can not read is moved aside
    // instead of stalling it.
    private static StorageAccountClientProvider Clients(StorageConnection connection, ILoggerFactory loggers)
    {
        var guardLogger = loggers.CreateLogger<UnreadableMessageGuard>();
        if (connection.ConnectionString is { } text)
        {
            return new StorageAccountClientProvider(
                StorageServiceClientProvider.ForBlob(text),
                new UnreadableMessageGuard(text, null, null, TimeProvider.System, guardLogger),
                StorageServiceClientProvider.ForTable(text));
        }
        var identity = connection.Identity!;
        return new StorageAccountClientProvider(
            StorageServiceClientProvider.ForBlob(identity.Blob, identity.Credential),
            new UnreadableMessageGuard(null, identity.Queue, identity.Credential, TimeProvider.System, guardLogger),
            StorageServiceClientProvider.ForTable(identity.Table, identity.Credential));
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await ProvisionAsync(stoppingToken))
        {
            return;
        }
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions { MaximumTimerInterval = TimeSpan.FromSeconds(_options.MaxTimerIntervalSeconds) }, _loggers);
        var worker = new TaskHubWorker(_service, _loggers)
        {
            // The SDK's orchestrator reads failures (type and message, the inner chain) from failure details.
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        worker.AddTaskOrchestrations(new TaskCreator<TaskOrchestration>(AgentRunOrchestrator.Name, () => shims.CreateOrchestration(AgentRunOrchestrator.Name, _orchestrator)));
        foreach (var name in AgentActivities.All)
        {
            var activity = new AgentActivity(name, _activities);
            worker.AddTaskActivities(new TaskCreator<TaskActivity>(name, () => shims.CreateActivity(name, activity)));
        }
        await worker.StartAsync();
        _ready.TrySetResult();
        try
        {
            await _requests.RunAsync(TimeSpan.FromSeconds(_options.ShutdownGraceSeconds), stoppingToken);
        }
        finally
        {
            // Graceful: the dispatchers stop taking work and wait for work items in hand.
            await worker.StopAsync(isForced: false);
        }
    }

    private async Task<bool> ProvisionAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _service.CreateIfNotExistsAsync();
                await _governance.Table.CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableControlStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TablePolicyStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableAgentStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableMcpPinStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableMonitorStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _requests.ProvisionAsync(stoppingToken);
                await _storage.Table(TableAuditStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Table(TableDriftStore.TableSuffix).CreateIfNotExistsAsync(stoppingToken);
                await _storage.Blobs.GetBlobContainerClient(_storage.Options.HubName + BlobCheckpointStore.ContainerSuffix).CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                return true;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException || ex.GetType().Name == "DurableTaskStorageException")
            {
                _logger.StorageWaiting(ex.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }
        return false;
    }
}
