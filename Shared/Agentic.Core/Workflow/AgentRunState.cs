using System.Collections.Immutable;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Runs;

namespace Agentic.Core.Workflow;

// WARNING: AgentRunState is the persisted snapshot of every local run and the ContinueAsNew payload of
// every Durable run. Add members as optional; never rename or repurpose one.

/// <summary>Where a run is in the governed loop.</summary>
public enum RunPhase
{
    /// <summary>Observing the target.</summary>
    Perceiving,
    /// <summary>Waiting for the planner.</summary>
    Planning,
    /// <summary>Asking the policy about the current step.</summary>
    Gating,
    /// <summary>Waiting for a human to approve the current step.</summary>
    AwaitingApproval,
    /// <summary>Executing the current step.</summary>
    Acting,
    /// <summary>Checking the plan's post-condition.</summary>
    Verifying,
    /// <summary>Ended successfully.</summary>
    Completed,
    /// <summary>Ended unsuccessfully; see the failure reason.</summary>
    Failed,
    /// <summary>Ended by an operator.</summary>
    Terminated,
}

/// <summary>Where one plan step is.</summary>
public enum StepStatus
{
    /// <summary>Not reached yet.</summary>
    Pending,
    /// <summary>Waiting for the gate.</summary>
    Gating,
    /// <summary>Waiting for approval.</summary>
    AwaitingApproval,
    /// <summary>The tool call is under way.</summary>
    Acting,
    /// <summary>The tool call succeeded.</summary>
    Succeeded,
    /// <summary>The policy forbade it.</summary>
    Denied,
    /// <summary>A human rejected it or the approval timed out.</summary>
    Rejected,
    /// <summary>The tool call failed.</summary>
    Failed,
    /// <summary>Never reached because the run ended first.</summary>
    Skipped,
    /// <summary>Succeeded, then undone by its compensation.</summary>
    Compensated,
}

/// <summary>One plan step with everything decided about it.</summary>
public sealed record StepState(string StepId, string Tool, JsonElement Arguments, string ArgsDigest, string Rationale)
{
    /// <summary>Progress of this step.</summary>
    public StepStatus Status { get; init; } = StepStatus.Pending;

    /// <summary>The recorded gate decision.</summary>
    public GateDecision? Decision { get; init; }

    /// <summary>The accepted approval, where the decision required one.</summary>
    public ApprovalDecision? Approval { get; init; }

    /// <summary>When an awaited approval stops being accepted.</summary>
    public DateTimeOffset? ApprovalDeadline { get; init; }

    /// <summary>What the tool call did.</summary>
    public ActResult? Result { get; init; }

    /// <summary>Why the step did not succeed.</summary>
    public string? Error { get; init; }

    /// <summary>The approvals given so far toward the decision's quorum, one per distinct approver.</summary>
    public ImmutableArray<ApprovalDecision> Approvals { get; init; } = [];

    /// <summary>The role an approver must hold now: the decision's, or the one a timeout escalated to.</summary>
    public string? RequiredRole { get; init; }

    /// <summary>Whether the approval request was escalated after a timeout (it escalates once).</summary>
    public bool Escalated { get; init; }

    /// <summary>For a compensation step: the id of the step it undoes.</summary>
    public string? CompensationOf { get; init; }

    /// <summary>The plan (1, 2, ...) the step belongs to.</summary>
    public int Round { get; init; } = 1;

    /// <summary>Whether the step was proposed by a model that read untrusted content; the gate's policy sees it.</summary>
    public bool Tainted { get; init; }

    /// <summary>The untrusted sources the proposing model read.</summary>
    public IReadOnlyList<string>? TaintSources { get; init; }

    /// <summary>The approval notifications sent (or given up) for this step, by command id (<c>s2/notify</c>, <c>s2/notify/escalated</c>).</summary>
    public ImmutableArray<string> Notices { get; init; } = [];
}

/// <summary>A line of the run's story, for people: perceived, planned, decided, approved, acted, completed.</summary>
public sealed record RunLogEntry(DateTimeOffset At, string Kind, string Message, string? StepId = null);

/// <summary>What a finished run reports.</summary>
public sealed record RunOutput(string Outcome, string Summary, int StepsSucceeded);

/// <summary>The full, serializable state of one agent run.</summary>
public sealed record AgentRunState
{
    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>The validated request.</summary>
    public required RunRequest Request { get; init; }

    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the run is failed if still going.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>The time of the last event applied.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Current phase.</summary>
    public RunPhase Phase { get; init; } = RunPhase.Perceiving;

    /// <summary>The first observation.</summary>
    public Observation? Observation { get; init; }

    /// <summary>The accepted plan.</summary>
    public Plan? Plan { get; init; }

    /// <summary>Index of the step in progress.</summary>
    public int Current { get; init; }

    /// <summary>Every plan step with its decisions.</summary>
    public ImmutableArray<StepState> Steps { get; init; } = [];

    /// <summary>The post-condition probe.</summary>
    public Observation? Verification { get; init; }

    /// <summary>Why the run failed or was terminated.</summary>
    public string? FailureReason { get; init; }

    /// <summary>The result of a completed run.</summary>
    public RunOutput? Output { get; init; }

    /// <summary>The run's story in order.</summary>
    public ImmutableArray<RunLogEntry> Log { get; init; } = [];

    /// <summary>How many plans the run has accepted.</summary>
    public int Plans { get; init; }

    /// <summary>Tool calls made so far (failed calls and compensations count).</summary>
    public int ToolCalls { get; init; }

    /// <summary>Cost units spent so far.</summary>
    public double BudgetUsed { get; init; }

    /// <summary>While the run undoes its completed steps (a saga): why the run is failing. <c>null</c> otherwise.</summary>
    public string? CompensatingFor { get; init; }
}
