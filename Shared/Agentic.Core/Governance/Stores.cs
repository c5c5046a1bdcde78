using Agentic.Core.Agents;
using Agentic.Core.Tools;

namespace Agentic.Core.Governance;

/// <summary>
/// Persisted gate decisions and approvals, keyed by (run, step). The act activity reads them back
/// before any side effect, so no tool runs without a stored decision for its exact arguments.
/// Both are insert-only: the first record stored for a key is the record, and nothing replaces it, so a gate
/// executed again (a redelivered or retried activity, perhaps under a newer policy) can not change the decision
/// a step already acted under, and an approver's answer can not be rewritten.
/// </summary>
public interface IDecisionStore
{
    /// <summary>
    /// Stores the decision for its step unless one is stored already, and returns the step's decision: the one stored
    /// first (<paramref name="decision"/> itself when it was the first).
    /// </summary>
    Task<GateDecision> RecordDecisionAsync(GateDecision decision, CancellationToken cancellationToken);

    /// <summary>The stored decision for a step, if any.</summary>
    Task<GateDecision?> GetDecisionAsync(string runId, string stepId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a human's approval or rejection for a step, one record per approver (a quorum needs several), unless that
    /// approver's answer is stored already; returns the approver's answer as stored (the first one).
    /// </summary>
    Task<ApprovalDecision> RecordApprovalAsync(string runId, string stepId, ApprovalDecision approval, CancellationToken cancellationToken);

    /// <summary>Every stored answer for a step, one per approver, in no particular order.</summary>
    Task<IReadOnlyList<ApprovalDecision>> GetApprovalsAsync(string runId, string stepId, CancellationToken cancellationToken);

    /// <summary>
    /// Records that run <paramref name="runId"/> was submitted, unless a submission is recorded already: <c>true</c> for
    /// the first submission of a run id, <c>false</c> for every later one, also when they race.
    /// </summary>
    Task<bool> RecordSubmissionAsync(string runId, string principal, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>
/// The product's own state of a run beside the engine's: its decisions, approvals, submission record and ledger rows.
/// Retention deletes it with the engine's instance once the run has ended long enough ago; the audit chain keeps the facts.
/// </summary>
public interface IRunStateStore
{
    /// <summary>Deletes every row the run left; the number deleted (0 for a run with none, or deleted already).</summary>
    Task<int> DeleteRunAsync(string runId, CancellationToken cancellationToken);
}

/// <summary>How a ledger answered a request to begin a side effect.</summary>
public enum LedgerBegin
{
    /// <summary>No earlier attempt: go ahead.</summary>
    Started,
    /// <summary>An earlier attempt recorded intent but no outcome and its lease ran out: the outcome is unknown.</summary>
    Resumed,
    /// <summary>An earlier attempt recorded its outcome: return it, do not call again.</summary>
    Recorded,
    /// <summary>Another worker holds a live lease on this step: try later.</summary>
    Busy,
}

/// <summary>The ledger's answer, with the recorded outcome when there is one.</summary>
public sealed record LedgerEntry(LedgerBegin State, ToolOutcome? Outcome, int Attempts, DateTimeOffset? LeaseUntil = null);

/// <summary>
/// The idempotency ledger: intent is recorded before a side effect and the outcome after it, keyed by
/// (run, step), so a redelivered act never repeats a side effect that is known to have happened.
/// </summary>
public interface IActionLedger
{
    /// <summary>Records intent for (run, step) with a lease, or reports what an earlier attempt left.</summary>
    Task<LedgerEntry> BeginAsync(string runId, string stepId, string argsDigest, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Records the outcome of the side effect begun for (run, step).</summary>
    Task CompleteAsync(string runId, string stepId, ToolOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Ends the lease of an attempt that failed without an outcome, so the next attempt may resume at once.</summary>
    Task ReleaseAsync(string runId, string stepId, CancellationToken cancellationToken);
}
