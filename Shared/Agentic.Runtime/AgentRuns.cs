using System.Security.Cryptography;
using System.Text;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;

namespace Agentic.Runtime;

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
/// The agent-run operations both local triggers use (HTTP API and the <c>agent-runs</c> queue): submit
/// with idempotency, read, approve, terminate. Run ids derived from an idempotency key make a repeated
/// submission return the first run instead of starting another.
/// </summary>
public sealed class AgentRuns(DurableRunner<RunRequest, AgentRunState> runner, IDecisionStore decisions, TimeProvider clock)
{
    /// <summary>Starts the run, or finds the one an earlier submission with the same idempotency key started.</summary>
    public async Task<(string RunId, bool Created)> SubmitAsync(RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var runId = RunIds.For(request);
        var created = await runner.StartAsync(runId, request, cancellationToken);
        return (runId, created);
    }

    /// <summary>The run, or <c>null</c>.</summary>
    public Task<RunRecord<AgentRunState>?> GetAsync(string runId, CancellationToken cancellationToken) => runner.GetAsync(runId, cancellationToken);

    /// <summary>
    /// Records and delivers a human's decision on the step a run is waiting on. The approval is bound to the
    /// step's argument digest as the run sees it now; the requester can not approve their own action, and
    /// the approver must hold the role the decision names. The record is stored before the event is sent,
    /// so the act activity can always find the approval it executes under.
    /// </summary>
    public async Task<ApprovalResult> DecideAsync(string runId, string stepId, bool approve, string? comment, string approver, IReadOnlyList<string> roles, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var run = await runner.GetAsync(runId, cancellationToken);
        if (run is null)
        {
            return new(ApprovalRefusal.UnknownRun, $"No run with id '{runId}'.", null);
        }
        var state = run.State;
        var pending = RunView.Pending(state);
        var running = run.Status == RunStatus.Running && run.RunnerFailure is null;
        if (ApprovalRules.NotAwaiting(runId, stepId, running, pending, state.Phase.ToString()) is { } notAwaiting)
        {
            return new(ApprovalRefusal.NotAwaiting, notAwaiting, null);
        }
        if (ApprovalRules.Refusal(pending!, state.Request.Principal, approver, roles) is { } refusal)
        {
            return new(ApprovalRefusal.Forbidden, refusal, null);
        }
        // The run state may not have applied an earlier answer yet; the store has it. The same answer again is a retry
        // (a client that lost the response, a host that stopped between recording and delivering): deliver the recorded
        // answer again. Another answer by the same approver is refused.
        var verdict = approve ? "approve" : "reject";
        if (ApprovalRules.EarlierAnswer(await decisions.GetApprovalsAsync(runId, stepId, cancellationToken), approver, pending!.ArgsDigest) is { } earlier)
        {
            if (ApprovalRules.ChangedAnswer(earlier, verdict) is { } changed)
            {
                return new(ApprovalRefusal.Forbidden, changed, null);
            }
            await runner.RaiseEventAsync(runId, AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(earlier), cancellationToken);
            return new(ApprovalRefusal.None, approve ? "Approval recorded." : "Rejection recorded.", earlier);
        }
        var approval = new ApprovalDecision(verdict, approver, roles, pending.ArgsDigest, comment, clock.GetUtcNow()) { ToolHash = pending.ToolHash };
        // Insert-only: a concurrent request by the same approver may have stored an answer first, and that one stands.
        approval = await decisions.RecordApprovalAsync(runId, stepId, approval, cancellationToken);
        if (ApprovalRules.ChangedAnswer(approval, verdict, pending.ArgsDigest) is { } raced)
        {
            return new(ApprovalRefusal.Forbidden, raced, null);
        }
        await runner.RaiseEventAsync(runId, AgentWorkflow.Ids.ApprovalEvent(stepId), AgenticJson.ToElement(approval), cancellationToken);
        return new(ApprovalRefusal.None, approve ? "Approval recorded." : "Rejection recorded.", approval);
    }

    /// <summary>Asks a run to stop.</summary>
    public Task TerminateAsync(string runId, string reason, string by, CancellationToken cancellationToken) =>
        runner.TerminateAsync(runId, reason, by, cancellationToken);
}
