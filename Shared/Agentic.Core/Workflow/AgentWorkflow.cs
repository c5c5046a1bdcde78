using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Runs;

namespace Agentic.Core.Workflow;

/// <summary>Knobs of the agent workflow that are fixed per deployment, not per run.</summary>
public sealed record AgentWorkflowOptions
{
    /// <summary>Retry policy for perceive, plan and gate.</summary>
    public RetryOptions ReadRetry { get; init; } = new(3, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(10));

    /// <summary>Retry policy for act. Safe because of the idempotency ledger.</summary>
    public RetryOptions ActRetry { get; init; } = new(3, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(10));

    /// <summary>Per-attempt timeout of perceive, plan and gate.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Per-attempt timeout of act.</summary>
    public TimeSpan ActTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Plans with more steps than this are refused (a guard, recorded as the failure reason).</summary>
    public int MaxSteps { get; init; } = 50;
}

/// <summary>
/// The governed agent loop as a decider: perceive, plan, then per step gate, (approval), act;
/// then verify the plan's post-condition, and complete or fail. Pure: see <see cref="IDecider{TInput,TState}"/>.
/// </summary>
public sealed class AgentWorkflow(AgentWorkflowOptions options) : IDecider<RunRequest, AgentRunState>
{
    /// <summary>Command ids are stable strings so hosts can match events to what they issued.</summary>
    public static class Ids
    {
        /// <summary>The first observation.</summary>
        public const string Perceive = "perceive";
        /// <summary>The planner call.</summary>
        public const string Plan = "plan";
        /// <summary>The post-condition probe.</summary>
        public const string Verify = "verify";
        /// <summary>The run's wall-clock deadline.</summary>
        public const string Deadline = "deadline";
        /// <summary>The gate call for a step.</summary>
        public static string Gate(string stepId) => stepId + "/gate";
        /// <summary>The act call for a step.</summary>
        public static string Act(string stepId) => stepId + "/act";
        /// <summary>The approval wait for a step.</summary>
        public static string Approval(string stepId) => stepId + "/approval";
        /// <summary>The approval timeout for a step.</summary>
        public static string ApprovalTimeout(string stepId) => stepId + "/approval-timeout";
        /// <summary>The external event name that carries an approval for a step.</summary>
        public static string ApprovalEvent(string stepId) => "approval:" + stepId;
    }

    /// <summary>A workflow with default options.</summary>
    public AgentWorkflow() : this(new AgentWorkflowOptions()) { }

    /// <inheritdoc />
    public AgentRunState Start(RunRequest input, StartContext context)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        return new AgentRunState
        {
            RunId = context.RunId,
            Request = input,
            StartedAt = context.StartedAt,
            Deadline = context.StartedAt + input.Deadline,
            UpdatedAt = context.StartedAt,
            Log = [new RunLogEntry(context.StartedAt, "started", $"Run of agent '{input.Agent}' requested by {input.Principal} for {input.Target}.")],
        };
    }

    /// <inheritdoc />
    public bool IsTerminal(AgentRunState state) =>
        state.Phase is RunPhase.Completed or RunPhase.Failed or RunPhase.Terminated;

    /// <inheritdoc />
    public IReadOnlyList<WorkflowCommand> Decide(AgentRunState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var request = state.Request;
        var deadline = new StartTimer(Ids.Deadline, state.Deadline);
        switch (state.Phase)
        {
            case RunPhase.Perceiving:
                return [Read(Ids.Perceive, AgentActivities.Perceive, new PerceiveInput(state.RunId, request.Agent, request.Target, "observe")), deadline];
            case RunPhase.Planning:
                return [Read(Ids.Plan, AgentActivities.Plan, new PlanInput(state.RunId, request.Agent, request.Goal, request.Target, request.Parameters, state.Observation!)), deadline];
            case RunPhase.Gating:
            {
                var step = state.Steps[state.Current];
                var input = new GateInput(state.RunId, step.StepId, request.Principal, request.Agent, request.Environment, step.Tool, step.Arguments, step.ArgsDigest, state.Current);
                return [Read(Ids.Gate(step.StepId), AgentActivities.Gate, input), deadline];
            }
            case RunPhase.AwaitingApproval:
            {
                var step = state.Steps[state.Current];
                return
                [
                    new WaitForEvent(Ids.Approval(step.StepId), Ids.ApprovalEvent(step.StepId)),
                    new StartTimer(Ids.ApprovalTimeout(step.StepId), step.ApprovalDeadline!.Value),
                    deadline,
                ];
            }
            case RunPhase.Acting:
            {
                var step = state.Steps[state.Current];
                var input = new ActInput(state.RunId, step.StepId, request.Target, step.Tool, step.Arguments, step.ArgsDigest, step.Decision!, step.Approval, request.Agent);
                return [new CallActivity(Ids.Act(step.StepId), AgentActivities.Act, AgenticJson.ToElement(input), options.ActRetry, options.ActTimeout), deadline];
            }
            case RunPhase.Verifying:
                return [Read(Ids.Verify, AgentActivities.Perceive, new PerceiveInput(state.RunId, request.Agent, request.Target, "verify")), deadline];
            case RunPhase.Completed:
                return [new CompleteRun("complete", AgenticJson.ToElement(state.Output))];
            default:
                return [new FailRun(state.Phase == RunPhase.Terminated ? "terminate" : "fail", state.FailureReason ?? "Run failed.")];
        }
    }

    /// <inheritdoc />
    public AgentRunState Evolve(AgentRunState state, WorkflowEvent change)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(change);
        if (IsTerminal(state))
        {
            return state;
        }
        return change switch
        {
            RunTerminated t => End(state, t.At, RunPhase.Terminated, $"Terminated by {t.By}: {t.Reason}"),
            TimerFired { CommandId: Ids.Deadline } t => End(state, t.At, RunPhase.Failed, $"Deadline exceeded: the run did not finish within {Format(state.Request.Deadline)}."),
            ActivityFailed f when IsExpected(state, f.CommandId) => OnActivityFailed(state, f),
            ActivityCompleted c when IsExpected(state, c.CommandId) => OnActivityCompleted(state, c),
            EventRaised e when state.Phase == RunPhase.AwaitingApproval && e.Name == Ids.ApprovalEvent(state.Steps[state.Current].StepId) => OnApproval(state, e),
            TimerFired t when state.Phase == RunPhase.AwaitingApproval && t.CommandId == Ids.ApprovalTimeout(state.Steps[state.Current].StepId) => OnApprovalTimeout(state, t),
            _ => state, // stale or duplicate: not outstanding in this state
        };
    }

    private static bool IsExpected(AgentRunState state, string commandId) => state.Phase switch
    {
        RunPhase.Perceiving => commandId == Ids.Perceive,
        RunPhase.Planning => commandId == Ids.Plan,
        RunPhase.Gating => commandId == Ids.Gate(state.Steps[state.Current].StepId),
        RunPhase.Acting => commandId == Ids.Act(state.Steps[state.Current].StepId),
        RunPhase.Verifying => commandId == Ids.Verify,
        _ => false,
    };

    private CallActivity Read<T>(string id, string name, T input) =>
        new(id, name, AgenticJson.ToElement(input), options.ReadRetry, options.ReadTimeout);

    private AgentRunState OnActivityCompleted(AgentRunState state, ActivityCompleted c)
    {
        var now = c.At;
        state = state with { UpdatedAt = now };
        switch (state.Phase)
        {
            case RunPhase.Perceiving:
            {
                var observation = AgenticJson.FromElement<Observation>(c.Result);
                return state with
                {
                    Phase = RunPhase.Planning,
                    Observation = observation,
                    Log = state.Log.Add(new(now, "perceived", $"{observation.Source}: {observation.Status} ({(observation.Healthy ? "healthy" : "unhealthy")}), evidence {Short(observation.Digest)}.")),
                };
            }
            case RunPhase.Planning:
                return OnPlan(state, AgenticJson.FromElement<Plan>(c.Result), now);
            case RunPhase.Gating:
                return OnDecision(state, AgenticJson.FromElement<GateDecision>(c.Result), now);
            case RunPhase.Acting:
            {
                var result = AgenticJson.FromElement<ActResult>(c.Result);
                var step = state.Steps[state.Current];
                state = WithStep(state, step with { Status = StepStatus.Succeeded, Result = result })
                    with { Log = state.Log.Add(new(now, "acted", $"{step.Tool}: {result.Summary}{(result.Replayed ? " (recorded outcome, not repeated)" : "")}", step.StepId)) };
                return Advance(state, now);
            }
            case RunPhase.Verifying:
            {
                var observation = AgenticJson.FromElement<Observation>(c.Result);
                state = state with
                {
                    Verification = observation,
                    Log = state.Log.Add(new(now, "observed", $"Post-condition check: {observation.Status} ({(observation.Healthy ? "healthy" : "unhealthy")}).")),
                };
                return observation.Healthy
                    ? Complete(state, now, "remediated", $"Target healthy after {Succeeded(state)} step(s).")
                    : End(state, now, RunPhase.Failed, $"Post-condition not met: target still {observation.Status} after the plan ran.");
            }
            default:
                return state;
        }
    }

    private AgentRunState OnPlan(AgentRunState state, Plan plan, DateTimeOffset now)
    {
        state = state with { Plan = plan, Log = state.Log.Add(new(now, "planned", $"{plan.Planner}: {plan.Steps.Count} step(s). {plan.Rationale}")) };
        if (plan.Steps.Count > options.MaxSteps)
        {
            return End(state, now, RunPhase.Failed, $"Guard: the plan has {plan.Steps.Count} steps; at most {options.MaxSteps} are allowed.");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            if (string.IsNullOrWhiteSpace(step.StepId) || !ids.Add(step.StepId))
            {
                return End(state, now, RunPhase.Failed, $"Invalid plan: step id '{step.StepId}' is empty or repeated.");
            }
        }
        var steps = plan.Steps
            .Select(s => new StepState(s.StepId, s.Tool, s.Arguments, AgenticJson.Digest(s.Arguments), s.Rationale))
            .ToImmutableArray();
        state = state with { Steps = steps, Current = 0 };
        if (steps.IsEmpty)
        {
            return plan.ExpectHealthy
                ? state with { Phase = RunPhase.Verifying }
                : Complete(state, now, "no-action", "Nothing to do: " + plan.Rationale);
        }
        return EnterGate(state, 0);
    }

    private static AgentRunState EnterGate(AgentRunState state, int index) =>
        WithStep(state with { Phase = RunPhase.Gating, Current = index }, state.Steps[index] with { Status = StepStatus.Gating });

    private static AgentRunState Advance(AgentRunState state, DateTimeOffset now)
    {
        var next = state.Current + 1;
        if (next < state.Steps.Length)
        {
            return EnterGate(state, next);
        }
        return state.Plan!.ExpectHealthy
            ? state with { Phase = RunPhase.Verifying }
            : Complete(state, now, "done", $"All {Succeeded(state)} step(s) succeeded.");
    }

    private static AgentRunState OnDecision(AgentRunState state, GateDecision decision, DateTimeOffset now)
    {
        var step = state.Steps[state.Current];
        if (decision.StepId != step.StepId || decision.ArgsDigest != step.ArgsDigest)
        {
            return End(WithStep(state, step with { Status = StepStatus.Denied, Error = "Decision not bound to this step's arguments." }), now, RunPhase.Failed,
                $"Gate answered for {decision.StepId}/{Short(decision.ArgsDigest)}, not {step.StepId}/{Short(step.ArgsDigest)}: failing closed.");
        }
        var log = state.Log.Add(new(now, "decided", $"{step.Tool}: {Describe(decision.Effect)} by {decision.PolicyId}@{decision.PolicyVersion} rule '{decision.Rule}': {decision.Reason}", step.StepId));
        state = state with { Log = log };
        switch (decision.Effect)
        {
            case GateEffect.Permit:
                return WithStep(state with { Phase = RunPhase.Acting }, step with { Status = StepStatus.Acting, Decision = decision });
            case GateEffect.RequireApproval:
                var until = now + state.Request.ApprovalTimeout;
                return WithStep(state with { Phase = RunPhase.AwaitingApproval }, step with { Status = StepStatus.AwaitingApproval, Decision = decision, ApprovalDeadline = until })
                    with { Log = log.Add(new(now, "awaiting-approval", $"{step.Tool} needs approval by role '{decision.ApproverRole}' before {until:u}.", step.StepId)) };
            default:
                return End(WithStep(state, step with { Status = StepStatus.Denied, Decision = decision, Error = decision.Reason }), now, RunPhase.Failed,
                    $"Step {step.StepId} ({step.Tool}) forbidden by {decision.PolicyId} rule '{decision.Rule}': {decision.Reason}");
        }
    }

    private static AgentRunState OnApproval(AgentRunState state, EventRaised e)
    {
        var step = state.Steps[state.Current];
        ApprovalDecision approval;
        try
        {
            approval = AgenticJson.FromElement<ApprovalDecision>(e.Payload);
        }
        catch (JsonException ex)
        {
            return Note(state, e.At, step, $"Ignored a malformed approval: {ex.Message}");
        }
        // Each refusal is logged and the wait goes on: a bad approval must not end the run, nor count.
        if (approval.Decision is not ("approve" or "reject"))
        {
            return Note(state, e.At, step, $"Ignored an approval with decision '{approval.Decision}'.");
        }
        if (string.IsNullOrWhiteSpace(approval.Approver))
        {
            return Note(state, e.At, step, "Ignored an approval without an approver identity.");
        }
        if (e.At > step.ApprovalDeadline)
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: it arrived after the approval deadline {step.ApprovalDeadline:u}.");
        }
        if (string.Equals(approval.Approver, state.Request.Principal, StringComparison.OrdinalIgnoreCase))
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: the requester can not approve their own action.");
        }
        if (step.Decision?.ApproverRole is { } role && !(approval.Roles ?? []).Contains(role, StringComparer.OrdinalIgnoreCase))
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: role '{role}' is required.");
        }
        if (approval.ArgsDigest != step.ArgsDigest)
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: it was given for arguments {Short(approval.ArgsDigest ?? "none")}, the step has {Short(step.ArgsDigest)}.");
        }
        var comment = string.IsNullOrWhiteSpace(approval.Comment) ? "" : $": {approval.Comment}";
        if (!approval.Approved)
        {
            state = state with { Log = state.Log.Add(new(e.At, "rejected", $"{step.Tool} rejected by {approval.Approver}{comment}", step.StepId)) };
            return End(WithStep(state, step with { Status = StepStatus.Rejected, Approval = approval, Error = "Rejected by " + approval.Approver }), e.At, RunPhase.Failed,
                $"Step {step.StepId} ({step.Tool}) rejected by {approval.Approver}{comment}");
        }
        state = state with { UpdatedAt = e.At, Phase = RunPhase.Acting, Log = state.Log.Add(new(e.At, "approved", $"{step.Tool} approved by {approval.Approver}{comment}", step.StepId)) };
        return WithStep(state, step with { Status = StepStatus.Acting, Approval = approval });
    }

    private static AgentRunState OnApprovalTimeout(AgentRunState state, TimerFired t)
    {
        var step = state.Steps[state.Current];
        var reason = $"Approval for step {step.StepId} ({step.Tool}) timed out after {Format(state.Request.ApprovalTimeout)}; the step is rejected.";
        return End(WithStep(state, step with { Status = StepStatus.Rejected, Error = "Approval timed out." }), t.At, RunPhase.Failed, reason);
    }

    private static AgentRunState OnActivityFailed(AgentRunState state, ActivityFailed f)
    {
        var what = $"{f.ErrorType}: {f.Message}";
        switch (state.Phase)
        {
            case RunPhase.Gating:
            {
                // The gate fails closed: no decision means no action.
                var step = state.Steps[state.Current];
                return End(WithStep(state, step with { Status = StepStatus.Denied, Error = what }), f.At, RunPhase.Failed,
                    $"Gate unavailable for step {step.StepId} ({step.Tool}), failing closed: {what}");
            }
            case RunPhase.Acting:
            {
                var step = state.Steps[state.Current];
                return End(WithStep(state, step with { Status = StepStatus.Failed, Error = what }), f.At, RunPhase.Failed,
                    $"Step {step.StepId} ({step.Tool}) failed: {what}");
            }
            default:
                return End(state, f.At, RunPhase.Failed, $"{Capitalize(f.CommandId)} failed: {what}");
        }
    }

    private static AgentRunState Note(AgentRunState state, DateTimeOffset at, StepState step, string message) =>
        state with { UpdatedAt = at, Log = state.Log.Add(new(at, "approval-refused", message, step.StepId)) };

    private static AgentRunState Complete(AgentRunState state, DateTimeOffset now, string outcome, string summary) =>
        state with
        {
            Phase = RunPhase.Completed,
            UpdatedAt = now,
            Output = new RunOutput(outcome, summary, Succeeded(state)),
            Log = state.Log.Add(new(now, "completed", summary)),
        };

    private static AgentRunState End(AgentRunState state, DateTimeOffset now, RunPhase phase, string reason)
    {
        var steps = state.Steps.Select(s => s.Status is StepStatus.Pending ? s with { Status = StepStatus.Skipped } : s).ToImmutableArray();
        return state with
        {
            Phase = phase,
            UpdatedAt = now,
            Steps = steps,
            FailureReason = reason,
            Log = state.Log.Add(new(now, phase == RunPhase.Terminated ? "terminated" : "failed", reason)),
        };
    }

    private static AgentRunState WithStep(AgentRunState state, StepState step) =>
        state with { Steps = state.Steps.SetItem(state.Current, step) };

    private static int Succeeded(AgentRunState state) => state.Steps.Count(s => s.Status == StepStatus.Succeeded);

    private static string Describe(GateEffect effect) => effect switch
    {
        GateEffect.Permit => "permitted",
        GateEffect.Forbid => "forbidden",
        _ => "approval required",
    };

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] : digest;

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Format(TimeSpan span) => span.TotalSeconds < 120
        ? span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s"
        : span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + " min";
}
