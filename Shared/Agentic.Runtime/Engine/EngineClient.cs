using System.Globalization;
using global::DurableTask.Core;
using global::DurableTask.Core.History;
using global::DurableTask.Core.Query;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Dt = global::DurableTask.Core;
using CoreOrchestrationQuery = global::DurableTask.Core.Query.OrchestrationQuery;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace Agentic.Runtime.Engine;

/// <summary>
/// The Durable Task SDK's client (<see cref="DurableTaskClient"/>) over a DurableTask.Core service client, so the local
/// host drives its engine through the same client type the Functions app gets from <c>[DurableClient]</c>. Inputs,
/// outputs, events and custom status are serialized by the SDK's <see cref="DataConverter"/>, as the workers do.
/// Adapted from the Durable Task SDK's OrchestrationServiceClientShim (MIT), with one difference: an instance id is never
/// reused. A start for an id that exists in any status is refused by the backend (its dedupe check) instead of
/// terminating and replacing the instance.
/// </summary>
public sealed class EngineClient(IOrchestrationServiceClient client, DataConverter converter) : DurableTaskClient("agentic")
{
    private static readonly Dt.OrchestrationStatus[] AnyStatus = Enum.GetValues<Dt.OrchestrationStatus>();

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => default;

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var states = await client.GetOrchestrationStateAsync(instanceId, allExecutions: false);
        // Azure Storage answers an unknown id with a list holding null.
        return states?.FirstOrDefault(s => s is not null) is { } state ? ToMetadata(state, getInputsAndOutputs) : null;
    }

    /// <inheritdoc />
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(Microsoft.DurableTask.Client.OrchestrationQuery? filter = null)
    {
        var queries = client as IOrchestrationServiceQueryClient
            ?? throw new NotSupportedException("The engine's service client can not query instances.");
        return Pageable.Create(async (continuation, pageSize, cancellation) =>
        {
            var query = new CoreOrchestrationQuery
            {
                RuntimeStatus = filter?.Statuses?.Select(ToCore).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                TaskHubNames = filter?.TaskHubNames?.ToList(),
                PageSize = pageSize ?? filter?.PageSize ?? Microsoft.DurableTask.Client.OrchestrationQuery.DefaultPageSize,
                ContinuationToken = continuation ?? filter?.ContinuationToken,
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
            };
            var result = await queries.GetOrchestrationWithQueryAsync(query, cancellation);
            return new Page<OrchestrationMetadata>([.. result.OrchestrationState.Select(s => ToMetadata(s, query.FetchInputsAndOutputs))], result.ContinuationToken);
        });
    }

    /// <inheritdoc />
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return SendAsync(instanceId, new EventRaisedEvent(-1, converter.Serialize(eventPayload)) { Name = eventName }, cancellation);
    }

    /// <inheritdoc />
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = Guid.NewGuid().ToString("N") };
        var tags = options?.Tags?.ToDictionary(t => t.Key, t => t.Value) ?? [];
        tags[OrchestrationTags.CreateTraceForNewOrchestration] = "true";
        tags[OrchestrationTags.RequestTime] = DateTimeOffset.UtcNow.ToString(CultureInfo.InvariantCulture);
        var message = new TaskMessage
        {
            OrchestrationInstance = instance,
            Event = new ExecutionStartedEvent(-1, converter.Serialize(input))
            {
                Name = orchestratorName.Name,
                Version = options?.Version ?? string.Empty,
                OrchestrationInstance = instance,
                ScheduledStartTime = options?.StartAt?.UtcDateTime,
                Tags = tags,
            },
        };
        await client.CreateTaskOrchestrationAsync(message, AnyStatus);
        return instanceId;
    }

    /// <inheritdoc />
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason), cancellation);

    /// <inheritdoc />
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent(-1, reason), cancellation);

    /// <inheritdoc />
    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return client.ForceTerminateTaskOrchestrationAsync(instanceId, converter.Serialize(options?.Output));
    }

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        var purger = client as IOrchestrationServicePurgeClient ?? throw new NotSupportedException("The engine's service client can not purge.");
        var instance = await GetInstancesAsync(instanceId, false, cancellation);
        if (instance is null)
        {
            return new PurgeResult(0);
        }
        if (!instance.IsCompleted)
        {
            throw new InvalidOperationException($"Only ended instances can be purged; {instanceId} is {instance.RuntimeStatus}.");
        }
        return new PurgeResult((await purger.PurgeInstanceStateAsync(instanceId)).DeletedInstanceCount);
    }

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var state = await client.WaitForOrchestrationAsync(instanceId, null, TimeSpan.MaxValue, cancellation);
        return ToMetadata(state, getInputsAndOutputs);
    }

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        while (true)
        {
            var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation)
                ?? throw new InvalidOperationException($"No instance with id '{instanceId}'.");
            if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Pending)
            {
                return metadata;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
        }
    }

    private Task SendAsync(string instanceId, HistoryEvent change, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return client.SendTaskOrchestrationMessageAsync(new TaskMessage { OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId }, Event = change });
    }

    private OrchestrationMetadata ToMetadata(Dt.OrchestrationState state, bool getInputsAndOutputs) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = getInputsAndOutputs ? converter : null,
            RuntimeStatus = FromCore(state.OrchestrationStatus),
            CreatedAt = state.CreatedTime,
            LastUpdatedAt = state.LastUpdatedTime,
            SerializedInput = state.Input,
            SerializedOutput = state.Output,
            SerializedCustomStatus = state.Status,
            FailureDetails = FromCore(state.FailureDetails),
        };

#pragma warning disable CS0618 // Canceled is obsolete; converted for completeness.
    private static OrchestrationRuntimeStatus FromCore(Dt.OrchestrationStatus status) => status switch
    {
        Dt.OrchestrationStatus.Running => OrchestrationRuntimeStatus.Running,
        Dt.OrchestrationStatus.Completed => OrchestrationRuntimeStatus.Completed,
        Dt.OrchestrationStatus.ContinuedAsNew => OrchestrationRuntimeStatus.ContinuedAsNew,
        Dt.OrchestrationStatus.Failed => OrchestrationRuntimeStatus.Failed,
        Dt.OrchestrationStatus.Canceled => OrchestrationRuntimeStatus.Canceled,
        Dt.OrchestrationStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        Dt.OrchestrationStatus.Pending => OrchestrationRuntimeStatus.Pending,
        Dt.OrchestrationStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        _ => (OrchestrationRuntimeStatus)(int)status,
    };

    private static Dt.OrchestrationStatus ToCore(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => Dt.OrchestrationStatus.Running,
        OrchestrationRuntimeStatus.Completed => Dt.OrchestrationStatus.Completed,
        OrchestrationRuntimeStatus.ContinuedAsNew => Dt.OrchestrationStatus.ContinuedAsNew,
        OrchestrationRuntimeStatus.Failed => Dt.OrchestrationStatus.Failed,
        OrchestrationRuntimeStatus.Canceled => Dt.OrchestrationStatus.Canceled,
        OrchestrationRuntimeStatus.Terminated => Dt.OrchestrationStatus.Terminated,
        OrchestrationRuntimeStatus.Pending => Dt.OrchestrationStatus.Pending,
        OrchestrationRuntimeStatus.Suspended => Dt.OrchestrationStatus.Suspended,
        _ => (Dt.OrchestrationStatus)(int)status,
    };
#pragma warning restore CS0618

    private static TaskFailureDetails? FromCore(FailureDetails? details) =>
        details is null ? null : new TaskFailureDetails(details.ErrorType, details.ErrorMessage, details.StackTrace, FromCore(details.InnerFailure), details.Properties);
}
