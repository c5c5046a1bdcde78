using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Agentic.Durable;

/// <summary>Why an approval was not accepted.</summary>
public enum ApprovalRefusal
{
    /// <summary>Accepted.</summary>
    None,
    /// <summary>No run with that id.</summary>
    UnknownRun,
    /// <summary>The run is not waiting for approval of that step.</summary>
    NotAwaiting,
    /// <summary>The caller may not approve this step.</summary>
    Forbidden,
}

/// <summary>The answer to an approval request.</summary>
public sealed record ApprovalResult(ApprovalRefusal Refusal, string Detail, ApprovalDecision? Approval);

/// <summary>
/// A run as the engine reports it: its document (<see cref="RunView"/>: in full once the run has ended, in full or
/// summarized while it runs), the status the API shows, and the engine's own status.
/// </summary>
public sealed record AgentRun(string RunId, RunView View, OrchestrationRuntimeStatus EngineStatus)
{
    /// <summary><c>running</c>, <c>completed</c>, <c>failed</c> or <c>terminated</c>.</summary>
    public string Status => View.Status;

    /// <summary>Whether the run has not ended yet.</summary>
    public bool IsRunning => View.Status == "running";
}

/// <summary>What <see cref="AgentRunClient.ListAsync"/> returns: a page of runs, and the token of the next one.</summary>
public sealed record RunPage(IReadOnlyList<AgentRun> Runs, string? ContinuationToken);

/// <summary>
/// The filters of <see cref="AgentRunClient.ListAsync"/>; all optional. <see cref="Top"/> is bounded to 1 to
/// <see cref="ListPaging.MaxTop"/>; <see cref="ContinuationToken"/> is the engine's own.
/// </summary>
public sealed record RunQuery(
    string? Status = null,
    string? Agent = null,
    string? Principal = null,
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    int Top = ListPaging.DefaultTop,
    string? ContinuationToken = null);

/// <summary>
/// The run operations every trigger of both hosts uses, over the engine's <see cref="DurableTaskClient"/> (the
/// Functions app's <c>[DurableClient]</c>, the local host's client on DurableTask.Core, or the in-process test host):
/// submit with idempotency, read, approve, terminate and list. Run ids derived from an idempotency key make a repeated
/// submission return the first run instead of starting another. A run's acceptance and every approval are appended to
/// the run's audit chain before the engine hears of them.
/// </summary>
public sealed class AgentRunClient(DurableTaskClient client, IDecisionStore decisions, AuditLog audit, TimeProvider clock, ILogger<AgentRunClient> logger)
{
    private static readonly IReadOnlyList<OrchestrationRuntimeStatus> AnyStatus =
        [.. Enum.GetValues<OrchestrationRuntimeStatus>()];

    /// <summary>The engine client underneath.</summary>
    public DurableTaskClient Engine => client;

    /// <summary>
    /// Starts the run, or finds the one an earlier submission with the same idempotency key started. The first submission
    /// of a run id is recorded insert-only before the start, so of submissions that race exactly one reports
    /// <c>Created</c>; a later one that finds the record but no instance (the first stopped between the two) starts it,
    /// and the engine runs one execution however many starts it receives.
    /// </summary>
    public Task<(string RunId, bool Created)> SubmitAsync(RunRequest request, CancellationToken cancellationToken) =>
        SubmitAsync(request, RunTrigger.Http, cancellationToken);

    /// <summary>As <see cref="SubmitAsync(RunRequest, CancellationToken)"/>, naming the trigger (<see cref="RunTrigger"/>) in the audit.</summary>
    public async Task<(string RunId, bool Created)> SubmitAsync(RunRequest request, string trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var runId = RunIds.For(request);
        // The record decides, not a read of the instance first: every start goes through here and records before it
        // starts (both came in one change, so no hub holds a run without its record), so a run that exists has a record
        // and the insert answers a repeat as well as a read would. A new run (the common case) then costs the insert and
        // the engine's start; the engine reads the instance itself before starting (its dedupe), so a read here was a
        // second read of the same row on every submission. A repeat costs the refused insert and one read.
        var first = await decisions.RecordSubmissionAsync(runId, request.Principal, clock.GetUtcNow(), cancellationToken);
        if (!first && await ExistsAsync(runId, cancellationToken))
        {
            return (runId, false);
        }
        // This submission starts the run (the first, or one after a first that stopped before starting): the run's
        // acceptance goes into its audit chain before the engine hears of it.
        try
        {
            await audit.AppendAsync(runId, AuditEntries.Accepted(runId, request, trigger, clock.GetUtcNow()), AuditConflict.Refuse, cancellationToken);
        }
        catch (AuditConflictException)
        {
            // An earlier submission of this run id was accepted with another request body: that acceptance stands.
        }
        var input = AgenticJson.ToElement(new AgentRunInput(request));
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                AgentRunOrchestrator.Name, input, new StartOrchestrationOptions { InstanceId = runId, DedupeStatuses = [.. AnyStatus.Select(s => s.ToString())] }, cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The engine refused the start: another submission's start got there first, unless there is no instance.
            if (!await ExistsAsync(runId, cancellationToken))
            {
                throw;
            }
        }
        logger.RunRequested(runId, request.Principal, first);
        return (runId, first);
    }

    private async Task<bool> ExistsAsync(string runId, CancellationToken cancellationToken) =>
        await client.GetInstanceAsync(runId, getInputsAndOutputs: false, cancellationToken) is not null;

    /// <summary>The run, or <c>null</c>.</summary>
    public async Task<AgentRun?> GetAsync(string runId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken);
        return instance is null ? null : Read(instance);
    }

    /// <summary>
    /// A page of runs: status and creation time are asked of the engine (its instance query), agent and principal are
    /// applied to what it returns. Each engine page asked for is as large as the room left in this page, so a page never
    /// holds more than <see cref="RunQuery.Top"/> runs; pages that match nothing are read on, at most
    /// <see cref="MaxEnginePages"/> of them, so a page may hold fewer runs (even none) and still have a next one.
    /// </summary>
    public Task<RunPage> ListAsync(RunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        IEnumerable<OrchestrationRuntimeStatus>? statuses = query.Status switch
        {
            null or "" => null,
            "running" => [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended],
            // A run that ends with FailRun completes as an orchestration; its document says failed.
            "completed" or "failed" => [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed],
            "terminated" => [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Terminated],
            _ => throw new ArgumentException($"Unknown run status '{query.Status}'.", nameof(query)),
        };
        // An ended run's status is in its output; a run not started yet has only its input.
        var filter = new OrchestrationQuery(query.CreatedFrom, query.CreatedTo, statuses, FetchInputsAndOutputs: true);
        return ScanAsync(filter, query.Top, query.ContinuationToken, r => (query.Status is null or "" || r.Status == query.Status)
            && (query.Agent is null || string.Equals(r.View.Agent, query.Agent, StringComparison.Ordinal))
            && (query.Principal is null || PrincipalIds.Same(r.View.Principal, query.Principal)), cancellationToken);
    }

    /// <summary>
    /// A page of runs waiting for an approval that <paramref name="include"/> accepts, read from the running instances'
    /// custom status (their document: the pending approval is in the summary too), without their inputs and outputs.
    /// </summary>
    public Task<RunPage> ListAwaitingApprovalAsync(Func<AgentRun, bool> include, int top, string? continuationToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(include);
        var filter = new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Running], FetchInputsAndOutputs: false);
        return ScanAsync(filter, top, continuationToken, r => r.IsRunning && r.View.PendingApproval is not null && include(r), cancellationToken);
    }

    /// <summary>The most engine pages one list call reads.</summary>
    public const int MaxEnginePages = 5;

    private async Task<RunPage> ScanAsync(OrchestrationQuery filter, int top, string? continuationToken, Func<AgentRun, bool> include, CancellationToken cancellationToken)
    {
        var size = Math.Clamp(top, 1, ListPaging.MaxTop);
        var runs = new List<AgentRun>(size);
        var token = continuationToken;
        for (var read = 0; read < MaxEnginePages && runs.Count < size; read++)
        {
            var room = size - runs.Count;
            var query = filter with { PageSize = room, ContinuationToken = token };
            Page<OrchestrationMetadata>? page = null;
            await foreach (var first in client.GetAllInstancesAsync(query).AsPages(token, room).WithCancellation(cancellationToken))
            {
                page = first;
                break;
            }
            runs.AddRange((page?.Values ?? []).Where(i => i.Name == AgentRunOrchestrator.Name).Select(Read).Where(include));
            token = page?.ContinuationToken;
            if (string.IsNullOrEmpty(token))
            {
                return new RunPage(runs, null);
            }
        }
        return new RunPage(runs, token);
    }

    /// <summary>
    /// Records and delivers a human's decision on the step a run is waiting on. The approval is bound to the step's
    /// argument digest as the run shows it now; the requester can not approve their own action, and the approver must
    /// hold the role the decision names. The record is stored before the event is raised, so the act activity can
    /// always find the approval it executes under; the workflow checks again when the event arrives.
    /// </summary>
    public async Task<ApprovalResult> DecideAsync(string runId, string stepId, bool approve, string? comment, string approver, IReadOnlyList<string> roles, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var run = await GetAsync(runId, cancellationToken);
        if (run is null)
        {
            return new(ApprovalRefusal.UnknownRun, $"No run with id '{runId}'.", null);
        }
        var pending = run.View.PendingApproval;
        if (ApprovalRules.NotAwaiting(runId, stepId, run.IsRunning, pending, run.View.Phase) is { } notAwaiting)
        {
            return new(ApprovalRefusal.NotAwaiting, notAwaiting, null);
        }
        if (ApprovalRules.Refusal(pending!, run.View.Principal, approver, roles) is { } refusal)
        {
            return new(ApprovalRefusal.Forbidden, refusal, null);
        }
        // The run may not have applied an earlier answer yet; the store has it. The same answer again is a retry (a
        // client that lost the response, a host that stopped between recording and delivering): deliver the recorded
        // answer again. Another answer by the same approver is refused.
        var verdict = approve ? "approve" : "reject";
        var approval = ApprovalRules.EarlierAnswer(await decisions.GetApprovalsAsync(runId, stepId, cancellationToken), approver, pending!.ArgsDigest);
        if (approval is not null)
        {
            if (ApprovalRules.ChangedAnswer(approval, verdict) is { } changed)
            {
                return new(ApprovalRefusal.Forbidden, changed, null);
            }
        }
        else
        {
            // Insert-only: a concurrent request by the same approver may have stored an answer first, and that one stands.
            approval = await decisions.RecordApprovalAsync(runId, stepId, new ApprovalDecision(verdict, approver, roles, pending.ArgsDigest, comment, clock.GetUtcNow()) { ToolHash = pending.ToolHash }, cancellationToken);
            if (ApprovalRules.ChangedAnswer(approval, verdict, pending.ArgsDigest) is { } raced)
            {
                return new(ApprovalRefusal.Forbidden, raced, null);
            }
        }
        // The same answer is the same record, so a retry finds it; the act activity requires it in the chain.
        await audit.AppendAsync(runId, AuditEntries.Approved(stepId, approval), AuditConflict.Refuse, cancellationToken);
        await client.RaiseEventAsync(runId, AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(approval), cancellationToken);
        logger.ApprovalRecorded(runId, stepId, approval.Decision, approver);
        return new(ApprovalRefusal.None, approve ? "Approval recorded." : "Rejection recorded.", approval);
    }

    /// <summary>Asks a run to stop through the workflow, so the run records who stopped it and why.</summary>
    public async Task TerminateAsync(string runId, string reason, string by, CancellationToken cancellationToken)
    {
        await client.RaiseEventAsync(runId, AgentRunOrchestrator.TerminateEvent, AgenticJson.ToElement(new TerminateRequest(reason, by)), cancellationToken);
        logger.TerminationRequested(runId, by);
    }

    // The run's document: the orchestration's output once it has returned, else its custom status, else (not started
    // yet) what its input says. The engine's own Failed and Terminated (a fault in the orchestrator, a hard terminate)
    // are written over the last document.
    private static AgentRun Read(OrchestrationMetadata instance)
    {
        var json = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed && instance.SerializedOutput is { } output
            ? output
            : instance.SerializedCustomStatus;
        var view = Parse<RunView>(json) ?? FromInput(instance);
        view = instance.RuntimeStatus switch
        {
            OrchestrationRuntimeStatus.Failed => view with
            {
                Status = "failed",
                PendingApproval = null,
                FailureReason = instance.FailureDetails?.ErrorMessage ?? "The orchestration failed.",
                UpdatedAt = instance.LastUpdatedAt,
            },
            OrchestrationRuntimeStatus.Terminated => view with
            {
                Status = "terminated",
                PendingApproval = null,
                FailureReason = "Terminated through the engine's management API.",
                UpdatedAt = instance.LastUpdatedAt,
            },
            _ => view,
        };
        return new AgentRun(instance.InstanceId, view, instance.RuntimeStatus);

        RunView FromInput(OrchestrationMetadata pending)
        {
            var request = Parse<AgentRunInput>(pending.SerializedInput)?.Request;
            return new RunView(pending.InstanceId, "running", "Starting", request?.Agent ?? "", request?.Principal ?? "", request?.Target ?? "", request?.Environment ?? "", request?.Goal,
                pending.CreatedAt, pending.LastUpdatedAt, [], [], null, null, null);
        }
    }

    // A stored document, or null when there is none or it does not read as one.
    private static T? Parse<T>(string? json) where T : class
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<T>(json, AgenticJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
