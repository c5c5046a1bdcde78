using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Planning;
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

    /// <summary>Default for the most tool calls a run may make.</summary>
    public int MaxToolCalls { get; init; } = 100;

    /// <summary>Default for the most cost units a run may spend.</summary>
    public double Budget { get; init; } = 1000;

    /// <summary>Default for the most times a run may call one tool with the same arguments.</summary>
    public int MaxIdenticalCalls { get; init; } = 3;

    /// <summary>Default for the most plans a run may make (1: no replanning).</summary>
    public int MaxPlans { get; init; } = 1;

    /// <summary>The deployment's defaults as guards.</summary>
    public RunGuards DefaultGuards => new()
    {
        MaxSteps = MaxSteps,
        MaxToolCalls = MaxToolCalls,
        Budget = Budget,
        MaxIdenticalCalls = MaxIdenticalCalls,
        MaxPlans = MaxPlans,
    };
}

/// <summary>
/// The governed agent loop as a decider: perceive, plan, then per step gate, (approval), act;
/// then verify the plan's post-condition, and complete or fail. A run whose planner is asked again after each action
/// (<see cref="ReplanMode.AfterEachAction"/>) plans after every executed step instead, until the planner answers with no
/// steps or a guard ends the run. Pure: see <see cref="IDecider{TInput,TState}"/>.
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
        /// <summary>The approval timeout for a step after its request was escalated.</summary>
        public static string EscalatedApprovalTimeout(string stepId) => stepId + "/approval-timeout/escalated";
        /// <summary>The external event name that carries an approval for a step.</summary>
        public static string ApprovalEvent(string stepId) => "approval:" + stepId;
        /// <summary>The planner call for plan <paramref name="round"/> (1-based).</summary>
        public static string PlanFor(int round) => round <= 1 ? Plan : Plan + "." + round.ToString(CultureInfo.InvariantCulture);
        /// <summary>The post-condition probe after plan <paramref name="round"/>.</summary>
        public static string VerifyFor(int round) => round <= 1 ? Verify : Verify + "." + round.ToString(CultureInfo.InvariantCulture);
        /// <summary>The id of the step that undoes <paramref name="stepId"/>.</summary>
        public static string Undo(string stepId) => UndoPrefix + stepId;
        /// <summary>The notification that a step waits for approval.</summary>
        public static string Notify(string stepId) => stepId + "/notify";
        /// <summary>The notification that a step's approval request was escalated.</summary>
        public static string EscalatedNotify(string stepId) => stepId + "/notify/escalated";
        /// <summary>The notification that a step's approval wait timed out (sent when the run concludes).</summary>
        public static string TimedOutNotify(string stepId) => stepId + "/notify/timed-out";
    }

    /// <summary>
    /// The revision new runs are admitted under (<see cref="RunRequest.Revision"/>). 2: approval waits notify the
    /// approvers' channels (<see cref="AgentActivities.Notify"/>).
    /// </summary>
    public const int Revision = 2;

    /// <summary>Planner step ids: 1 to 64 letters, digits, '.', '_' or '-' (they become parts of keys and URIs).</summary>
    public const int MaxStepIdLength = 64;

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
                return [Read(Ids.Perceive, AgentActivities.Perceive, Perceive(state, "observe")), deadline];
            case RunPhase.Planning:
            {
                var round = state.Plans + 1;
                var guards = Guards(state);
                var input = new PlanInput(state.RunId, request.Agent, request.Goal, request.Target, request.Parameters, state.Verification ?? state.Observation!)
                {
                    Round = round,
                    Principal = request.Principal,
                    PrincipalRoles = request.PrincipalRoles,
                    Autonomy = request.EffectiveAutonomy,
                    Environment = request.Environment,
                    BudgetRemaining = guards.Budget is { } budget ? Math.Max(0, budget - state.BudgetUsed) : null,
                    MaxSteps = guards.MaxSteps ?? options.MaxSteps,
                    History = StepByStep(state) ? History(state) : null,
                    AgentVersion = request.AgentVersion,
                    AgentHash = request.AgentHash,
                };
                return [Read(Ids.PlanFor(round), AgentActivities.Plan, input), deadline];
            }
            case RunPhase.Gating:
            {
                var step = state.Steps[state.Current];
                var input = new GateInput(state.RunId, step.StepId, request.Principal, request.Agent, request.Environment, step.Tool, step.Arguments, step.ArgsDigest, state.ToolCalls)
                {
                    Autonomy = request.EffectiveAutonomy,
                    PrincipalRoles = request.PrincipalRoles,
                    Target = request.Target,
                    BudgetUsed = state.BudgetUsed,
                    Compensation = step.CompensationOf is not null,
                    Tainted = step.Tainted,
                    TaintSources = step.TaintSources,
                    // A step of the plan in force; compensations are the workflow's, not the planner's.
                    Origin = step.CompensationOf is null && state.Plan?.Model is not null ? PlanOrigin.Of(state.Plan) : null,
                };
                return [Read(Ids.Gate(step.StepId), AgentActivities.Gate, input), deadline];
            }
            case RunPhase.AwaitingApproval:
            {
                var step = state.Steps[state.Current];
                WorkflowCommand[] waiting =
                [
                    new WaitForEvent(Ids.Approval(step.StepId), Ids.ApprovalEvent(step.StepId)),
                    new StartTimer(TimeoutId(step), step.ApprovalDeadline!.Value),
                    deadline,
                ];
                // Last, so a run of revision 1 replays the commands it issued; once answered, it is not listed again.
                return request.Revision >= 2 && !step.Notices.Contains(NotifyId(step))
                    ? [.. waiting, Read(NotifyId(step), AgentActivities.Notify, NotifyInput(state, step))]
                    : waiting;
            }
            case RunPhase.Acting:
            {
                var step = state.Steps[state.Current];
                var input = new ActInput(state.RunId, step.StepId, request.Target, step.Tool, step.Arguments, step.ArgsDigest, step.Decision!, step.Approval, request.Agent)
                {
                    AgentVersion = request.AgentVersion,
                    AgentHash = request.AgentHash,
                };
                return [new CallActivity(Ids.Act(step.StepId), AgentActivities.Act, AgenticJson.ToElement(input), options.ActRetry, options.ActTimeout), deadline];
            }
            case RunPhase.Verifying:
                return [Read(Ids.VerifyFor(state.Plans), AgentActivities.Perceive, Perceive(state, "verify")), deadline];
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
            ActivityCompleted c when IsNotice(state, c.CommandId) => OnNotified(state, c.CommandId, c.At, NotifyResult.SummaryOf(c.Result)),
            ActivityFailed f when IsNotice(state, f.CommandId) => OnNotified(state, f.CommandId, f.At, $"could not be sent: {f.ErrorType}: {f.Message}"),
            ActivityFailed f when IsExpected(state, f.CommandId) => OnActivityFailed(state, f),
            ActivityCompleted c when IsExpected(state, c.CommandId) => OnActivityCompleted(state, c),
            EventRaised e when state.Phase == RunPhase.AwaitingApproval && e.Name == Ids.ApprovalEvent(state.Steps[state.Current].StepId) => OnApproval(state, e),
            TimerFired t when state.Phase == RunPhase.AwaitingApproval && t.CommandId == TimeoutId(state.Steps[state.Current]) => OnApprovalTimeout(state, t),
            _ => state, // stale or duplicate: not outstanding in this state
        };
    }

    // The answer to the notification the current approval wait issued.
    private static bool IsNotice(AgentRunState state, string commandId) =>
        state.Phase == RunPhase.AwaitingApproval && state.Steps[state.Current] is var step && commandId == NotifyId(step) && !step.Notices.Contains(commandId);

    // A notification's outcome goes into the run's log; the wait goes on either way (a channel that can not be reached
    // delays no decision: the inbox lists the step regardless).
    private static AgentRunState OnNotified(AgentRunState state, string commandId, DateTimeOffset at, string summary)
    {
        var step = state.Steps[state.Current];
        return WithStep(state with { UpdatedAt = at, Log = state.Log.Add(new(at, "notified", $"Approval {(step.Escalated ? "escalation" : "request")} for {step.StepId} ({step.Tool}): {summary}", step.StepId)) },
            step with { Notices = step.Notices.Add(commandId) });
    }

    private static bool IsExpected(AgentRunState state, string commandId) => state.Phase switch
    {
        RunPhase.Perceiving => commandId == Ids.Perceive,
        RunPhase.Planning => commandId == Ids.PlanFor(state.Plans + 1),
        RunPhase.Gating => commandId == Ids.Gate(state.Steps[state.Current].StepId),
        RunPhase.Acting => commandId == Ids.Act(state.Steps[state.Current].StepId),
        RunPhase.Verifying => commandId == Ids.VerifyFor(state.Plans),
        _ => false,
    };

    private static string NotifyId(StepState step) =>
        step.Escalated ? Ids.EscalatedNotify(step.StepId) : Ids.Notify(step.StepId);

    /// <summary>
    /// For a run of revision 2 or later that ended because an approval wait timed out: the notification of it.
    /// </summary>
    public static NotifyInput? TimedOutNotice(AgentRunState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Request.Revision is not >= 2
            || state.Steps.FirstOrDefault(s => s.Status == StepStatus.Rejected && s.Approval is null && s.Decision is { Effect: GateEffect.RequireApproval } && s.ApprovalDeadline is not null) is not { } step)
        {
            return null;
        }
        return NotifyInput(state, step) with { Kind = NotifyKinds.TimedOut };
    }

    private static NotifyInput NotifyInput(AgentRunState state, StepState step) => new(
        state.RunId, step.StepId, step.Escalated ? NotifyKinds.Escalated : NotifyKinds.Requested, state.Request.Agent, state.Request.Principal,
        state.Request.Target, step.Tool, step.Arguments, step.ArgsDigest, step.Decision!, step.RequiredRole ?? step.Decision!.ApproverRole ?? "",
        step.Decision!.Quorum, step.ApprovalDeadline!.Value, [.. step.Approvals.Select(a => a.Approver)]);

    private static string TimeoutId(StepState step) =>
        step.Escalated ? Ids.EscalatedApprovalTimeout(step.StepId) : Ids.ApprovalTimeout(step.StepId);

    // The request's goal and parameters go along for the agent's request signals, which read the run's own payload.
    private static PerceiveInput Perceive(AgentRunState state, string purpose) =>
        new(state.RunId, state.Request.Agent, state.Request.Target, purpose)
        {
            Goal = state.Request.Goal,
            Parameters = state.Request.Parameters,
            AgentVersion = state.Request.AgentVersion,
            AgentHash = state.Request.AgentHash,
        };

    private RunGuards Guards(AgentRunState state) => (state.Request.Guards ?? new RunGuards()).Over(options.DefaultGuards);

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
                state = state with
                {
                    Phase = RunPhase.Planning,
                    Observation = observation,
                    Log = state.Log.Add(new(now, "perceived", $"{observation.Source}: {observation.Status} ({(observation.Healthy ? "healthy" : "unhealthy")}), evidence {AgenticJson.ShortDigest(observation.Digest)}.")),
                };
                // A signal the run depends on broke its data contract: nothing it read may be planned on.
                return observation.Failure is { } failure ? End(state, now, RunPhase.Failed, failure) : state;
            }
            case RunPhase.Planning:
                return OnPlan(state, AgenticJson.FromElement<Plan>(c.Result), now);
            case RunPhase.Gating:
                return OnDecision(state, AgenticJson.FromElement<GateDecision>(c.Result), now);
            case RunPhase.Acting:
            {
                var result = AgenticJson.FromElement<ActResult>(c.Result);
                var step = state.Steps[state.Current];
                state = Charge(state, step);
                var kind = step.CompensationOf is null ? "acted" : "compensated";
                state = WithStep(state, step with { Status = StepStatus.Succeeded, Result = result })
                    with { Log = state.Log.Add(new(now, kind, $"{step.Tool}: {result.Summary}{(result.Replayed ? " (recorded outcome, not repeated)" : "")}", step.StepId)) };
                if (step.CompensationOf is { } undone)
                {
                    state = state with { Steps = state.Steps.Select(s => s.StepId == undone ? s with { Status = StepStatus.Compensated } : s).ToImmutableArray() };
                }
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
                if (observation.Failure is { } failure)
                {
                    return FailPlan(state, now, failure);
                }
                if (observation.Healthy)
                {
                    return Complete(state, now, "remediated", $"Target healthy after {Succeeded(state)} step(s).");
                }
                state = Signal(state, DriftKinds.PostConditionFailed, Ids.VerifyFor(state.Plans), now, $"Target still {observation.Status} after plan {state.Plans}.", step: null);
                var maxPlans = Guards(state).MaxPlans ?? 1;
                if (state.Plans < maxPlans)
                {
                    return state with
                    {
                        Phase = RunPhase.Planning,
                        Log = state.Log.Add(new(now, "replanning", $"Target still {observation.Status} after plan {state.Plans}; asking for plan {state.Plans + 1} of at most {maxPlans}.")),
                    };
                }
                var why = maxPlans > 1
                    ? $"Post-condition not met: target still {observation.Status} after {state.Plans} plan(s), the most this run may make."
                    : $"Post-condition not met: target still {observation.Status} after the plan ran.";
                return FailPlan(state, now, why);
            }
            default:
                return state;
        }
    }

    private AgentRunState OnPlan(AgentRunState state, Plan plan, DateTimeOffset now)
    {
        var round = state.Plans + 1;
        var guards = Guards(state);
        // A model's tokens are spent whether or not its plan runs.
        state = state with { Plan = plan, Plans = round, BudgetUsed = state.BudgetUsed + (plan.Model?.Cost ?? 0), Log = state.Log.Add(new(now, "planned", $"{plan.Planner}: {plan.Steps.Count} step(s). {plan.Rationale}")) };
        if (plan.Steps.Count > (guards.MaxSteps ?? options.MaxSteps))
        {
            return FailPlan(state, now, $"Guard: the plan has {plan.Steps.Count} steps; at most {guards.MaxSteps ?? options.MaxSteps} are allowed.");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            if (!IsValidStepId(step.StepId) || !ids.Add(step.StepId))
            {
                return FailPlan(state, now, $"Invalid plan: step id '{step.StepId}' is empty, repeated or not 1 to {MaxStepIdLength} letters, digits, '.', '_' or '-'.");
            }
            if (ReservedStepIdPrefix(step.StepId) is { } reserved)
            {
                // Never renamed: the id is the planner's, and a silently different id would no longer match its rationale.
                return FailPlan(state, now, $"Invalid plan: step id '{step.StepId}' starts with '{reserved}', which is reserved for ids the workflow generates "
                    + "(later plans' steps 'p<n>.{id}', compensation steps 'undo.{id}'); a planner's step id may not start with 'p' and digits followed by '.', nor with 'undo.'.");
            }
            if (string.IsNullOrWhiteSpace(step.Tool))
            {
                return FailPlan(state, now, $"Invalid plan: step '{step.StepId}' names no tool.");
            }
        }
        // Later plans' steps are kept after the earlier ones, with ids of their own, so every command id stays unique.
        var prefix = round == 1 ? "" : $"p{round.ToString(CultureInfo.InvariantCulture)}.";
        var steps = plan.Steps
            .Select(s => new StepState(prefix + s.StepId, s.Tool, s.Arguments, AgenticJson.Digest(s.Arguments), s.Rationale)
            {
                Round = round,
                Tainted = plan.Model?.Tainted ?? false,
                TaintSources = plan.Model is { Tainted: true } model ? model.TaintSources : null,
            })
            .ToImmutableArray();
        var first = state.Steps.Length;
        state = state with { Steps = state.Steps.AddRange(steps), Current = first };
        if (state.Request.EffectiveAutonomy == Autonomy.Observe)
        {
            state = state with { Steps = state.Steps.Select(s => s.Status == StepStatus.Pending ? s with { Status = StepStatus.Skipped, Error = "Autonomy 'observe': planned, not executed." } : s).ToImmutableArray() };
            return Complete(state, now, "observed", $"Autonomy 'observe': planned {steps.Length} step(s), executed none.");
        }
        if (steps.IsEmpty)
        {
            return plan.ExpectHealthy ? state with { Phase = RunPhase.Verifying }
                // Asked again after its actions, the planner says it is done: its rationale is the run's outcome.
                : StepByStep(state) && Succeeded(state) > 0 ? Complete(state, now, "done", plan.Rationale)
                : Complete(state, now, "no-action", "Nothing to do: " + plan.Rationale);
        }
        return EnterGate(state, first, now);
    }

    private static bool StepByStep(AgentRunState state) => state.Request.Replan == ReplanMode.AfterEachAction;

    // What the steps executed so far did, for a planner asked again after each action. Outputs are cut at a size a prompt
    // can hold; the digest stays.
    private static ImmutableArray<StepOutcome> History(AgentRunState state) =>
    [
        .. state.Steps
            .Where(s => s.CompensationOf is null && s.Status is StepStatus.Succeeded or StepStatus.Failed or StepStatus.Compensated)
            .Select(s =>
            {
                var output = s.Result?.Output is { ValueKind: not JsonValueKind.Undefined } o ? o : (JsonElement?)null;
                var chars = output is { } value ? value.GetRawText().Length : 0;
                return new StepOutcome(s.StepId, s.Tool, s.ArgsDigest, JsonNamingPolicy.KebabCaseLower.ConvertName(s.Status.ToString()), s.Result?.Summary ?? s.Error)
                {
                    Output = chars <= StepOutcome.MaxOutputChars ? output : null,
                    OutputDigest = output is { } digested ? AgenticJson.Digest(digested) : null,
                    OutputOmittedChars = chars > StepOutcome.MaxOutputChars ? chars : null,
                };
            }),
    ];

    /// <summary>
    /// After an action of a run that plans step by step: the rest of the plan in force is superseded, and the planner is
    /// asked again while the plan guard allows; once it does not, the run fails with the guard's reason (undoing what it can).
    /// </summary>
    private AgentRunState AskAgain(AgentRunState state, DateTimeOffset now)
    {
        var done = state.Steps[state.Current];
        state = state with
        {
            Steps = state.Steps.Select(s => s.Status == StepStatus.Pending
                ? s with { Status = StepStatus.Skipped, Error = $"Superseded: the planner is asked again after each action ({done.StepId} ran)." }
                : s).ToImmutableArray(),
        };
        var maxPlans = Guards(state).MaxPlans ?? 1;
        if (state.Plans >= maxPlans)
        {
            return FailPlan(state, now, $"Guard: the run made {state.Plans} plan(s); at most {maxPlans} are allowed, and the planner had not answered that it was done (after step {done.StepId}, {done.Tool}).");
        }
        return state with
        {
            Phase = RunPhase.Planning,
            Log = state.Log.Add(new(now, "replanning", $"{done.Tool} done; asking the planner for plan {state.Plans + 1} of at most {maxPlans} with what every step did so far.", done.StepId)),
        };
    }

    private static AgentRunState Signal(AgentRunState state, string kind, string commandId, DateTimeOffset at, string reason, StepState? step) =>
        state.Plan is null || step?.CompensationOf is not null
            ? state // nothing planned yet, or an undo step: the workflow's, not the planner's
            : state with
            {
                Signals = state.Signals.Add(new RunSignal(kind, commandId, at, reason) { StepId = step?.StepId, Tool = step?.Tool, Origin = PlanOrigin.Of(state.Plan) }),
            };

    /// <summary>
    /// The reserved prefix <paramref name="stepId"/> starts with, or <c>null</c>. The workflow generates step ids of its own
    /// (<c>p{round}.{id}</c> for the steps of later plans, <see cref="Ids.Undo"/> for compensation steps), so a planner's id
    /// that looked like one could collide with a generated id and share its decision, approvals and ledger row. Matched
    /// without regard to case, so a reader of the run's log is not misled either.
    /// </summary>
    public static string? ReservedStepIdPrefix(string stepId)
    {
        ArgumentNullException.ThrowIfNull(stepId);
        if (stepId.StartsWith(UndoPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return stepId[..UndoPrefix.Length];
        }
        var digits = 1;
        while (digits < stepId.Length && char.IsAsciiDigit(stepId[digits]))
        {
            digits++;
        }
        return stepId.Length > 0 && stepId[0] is 'p' or 'P' && digits > 1 && digits < stepId.Length && stepId[digits] == '.'
            ? stepId[..(digits + 1)]
            : null;
    }

    /// <summary>The prefix of the ids of steps the workflow generates to undo completed ones.</summary>
    public const string UndoPrefix = "undo.";

    private static bool IsValidStepId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxStepIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private AgentRunState EnterGate(AgentRunState state, int index, DateTimeOffset now)
    {
        var step = state.Steps[index];
        state = state with { Current = index };
        if (step.CompensationOf is null && GuardBeforeCall(state, step) is { } tripped)
        {
            return FailPlan(WithStep(state, step with { Status = StepStatus.Denied, Error = tripped }), now, tripped);
        }
        return WithStep(state with { Phase = RunPhase.Gating }, step with { Status = StepStatus.Gating });
    }

    // Checked before each step's gate: a run never spends a gate call (or a human's time) on a call it may not make.
    private string? GuardBeforeCall(AgentRunState state, StepState step)
    {
        var guards = Guards(state);
        if (state.ToolCalls >= guards.MaxToolCalls)
        {
            return $"Guard: the run made {state.ToolCalls} tool call(s); at most {guards.MaxToolCalls} are allowed (step {step.StepId}, {step.Tool}).";
        }
        var identical = state.Steps.Count(s => s.CompensationOf is null && s.Tool == step.Tool && s.ArgsDigest == step.ArgsDigest
            && s.Status is StepStatus.Succeeded or StepStatus.Failed or StepStatus.Compensated);
        if (identical >= guards.MaxIdenticalCalls)
        {
            return $"Guard: {step.Tool} was already called {identical} time(s) with the same arguments ({AgenticJson.ShortDigest(step.ArgsDigest)}); at most {guards.MaxIdenticalCalls} identical calls are allowed (step {step.StepId}).";
        }
        return null;
    }

    private static AgentRunState Charge(AgentRunState state, StepState step) =>
        state with { ToolCalls = state.ToolCalls + 1, BudgetUsed = state.BudgetUsed + (step.Decision?.Cost ?? 1) };

    private AgentRunState Advance(AgentRunState state, DateTimeOffset now)
    {
        if (state.CompensatingFor is null && StepByStep(state))
        {
            return AskAgain(state, now);
        }
        var next = state.Current + 1;
        if (next < state.Steps.Length)
        {
            return EnterGate(state, next, now);
        }
        if (state.CompensatingFor is { } failure)
        {
            var undone = state.Steps.Where(s => s.CompensationOf is not null).Select(s => s.CompensationOf!).ToList();
            return End(state, now, RunPhase.Failed, $"{failure} Compensated: undid {undone.Count} step(s) ({string.Join(", ", undone)}) in reverse order.");
        }
        return state.Plan!.ExpectHealthy
            ? state with { Phase = RunPhase.Verifying }
            : Complete(state, now, "done", $"All {Succeeded(state)} step(s) succeeded.");
    }

    /// <summary>
    /// The plan can not be finished. Completed reversible steps are undone in reverse order through their compensating
    /// calls, each gated like any action (a saga); then the run fails with <paramref name="reason"/>. A failure while
    /// compensating ends the run at once, naming what was not undone.
    /// </summary>
    private AgentRunState FailPlan(AgentRunState state, DateTimeOffset now, string reason)
    {
        if (state.CompensatingFor is { } failure)
        {
            var pending = state.Steps.Skip(state.Current + 1).Where(s => s.CompensationOf is not null).Select(s => s.CompensationOf!).Prepend(state.Steps[state.Current].CompensationOf!);
            return End(state, now, RunPhase.Failed, $"{failure} Compensation incomplete: {reason} Not undone: {string.Join(", ", pending)}.");
        }
        var undo = state.Steps
            .Where(s => s.CompensationOf is null && s.Status == StepStatus.Succeeded && s.Result?.Compensation is not null)
            .Reverse()
            .Select(s => new StepState(Ids.Undo(s.StepId), s.Result!.Compensation!.Tool, s.Result.Compensation.Arguments, AgenticJson.Digest(s.Result.Compensation.Arguments),
                $"Undo {s.StepId} ({s.Tool}): the run is failing.") { CompensationOf = s.StepId, Round = s.Round })
            .ToImmutableArray();
        if (undo.IsEmpty)
        {
            return End(state, now, RunPhase.Failed, reason);
        }
        var first = state.Steps.Length;
        state = state with
        {
            CompensatingFor = reason,
            Steps = state.Steps.Select(s => s.Status == StepStatus.Pending ? s with { Status = StepStatus.Skipped } : s).ToImmutableArray().AddRange(undo),
            Log = state.Log.Add(new(now, "compensating", $"{reason} Undoing {undo.Length} completed step(s) in reverse order: {string.Join(", ", undo.Select(u => u.CompensationOf))}.")),
        };
        return EnterGate(state, first, now);
    }

    private AgentRunState OnDecision(AgentRunState state, GateDecision decision, DateTimeOffset now)
    {
        var step = state.Steps[state.Current];
        if (decision.StepId != step.StepId || decision.ArgsDigest != step.ArgsDigest)
        {
            return FailPlan(WithStep(state, step with { Status = StepStatus.Denied, Error = "Decision not bound to this step's arguments." }), now,
                $"Gate answered for {decision.StepId}/{AgenticJson.ShortDigest(decision.ArgsDigest)}, not {step.StepId}/{AgenticJson.ShortDigest(step.ArgsDigest)}: failing closed.");
        }
        var shadow = decision.Shadow is { } sh && (sh.Effect != decision.Effect || sh.Rule != decision.Rule)
            ? $" [shadow {sh.PolicyId}@{sh.PolicyVersion} would have {Describe(sh.Effect)} it by rule '{sh.Rule}']"
            : "";
        var log = state.Log.Add(new(now, "decided", $"{step.Tool}: {Describe(decision.Effect)} by {decision.PolicyId}@{decision.PolicyVersion} rule '{decision.Rule}': {decision.Reason}{shadow}", step.StepId));
        state = state with { Log = log };
        var budget = Guards(state).Budget;
        if (decision.Effect != GateEffect.Forbid && step.CompensationOf is null && state.BudgetUsed + (decision.Cost ?? 1) > budget)
        {
            var reason = $"Guard: step {step.StepId} ({step.Tool}) costs {decision.Cost ?? 1:0.##} unit(s); the run has spent {state.BudgetUsed:0.##} of its budget of {budget:0.##}.";
            return FailPlan(WithStep(state, step with { Status = StepStatus.Denied, Decision = decision, Error = reason }), now, reason);
        }
        switch (decision.Effect)
        {
            case GateEffect.Permit:
                return WithStep(state with { Phase = RunPhase.Acting }, step with { Status = StepStatus.Acting, Decision = decision });
            case GateEffect.RequireApproval:
            {
                var terms = decision.Approval ?? new ApprovalTerms(decision.ApproverRole ?? Policy.PolicyGate.DefaultApproverRole);
                var until = now + ApprovalTimeout(state, terms);
                var quorum = terms.Quorum > 1 ? $"{terms.Quorum} distinct approvers with role '{terms.Role}'" : $"role '{terms.Role}'";
                return WithStep(state with { Phase = RunPhase.AwaitingApproval },
                        step with { Status = StepStatus.AwaitingApproval, Decision = decision, ApprovalDeadline = until, RequiredRole = terms.Role, Approvals = [] })
                    with { Log = log.Add(new(now, "awaiting-approval", $"{step.Tool} needs approval by {quorum} before {until:u}.", step.StepId)) };
            }
            default:
                return FailPlan(WithStep(state, step with { Status = StepStatus.Denied, Decision = decision, Error = decision.Reason }), now,
                    $"Step {step.StepId} ({step.Tool}) forbidden by {decision.PolicyId} rule '{decision.Rule}': {decision.Reason}");
        }
    }

    private AgentRunState OnApproval(AgentRunState state, EventRaised e)
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
        if (PrincipalIds.Same(approval.Approver, state.Request.Principal))
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: the requester can not approve their own action.");
        }
        if ((step.RequiredRole ?? step.Decision?.ApproverRole) is { } role && !(approval.Roles ?? []).Contains(role, StringComparer.OrdinalIgnoreCase))
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: role '{role}' is required.");
        }
        if (approval.ArgsDigest != step.ArgsDigest)
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: it was given for arguments {AgenticJson.ShortDigest(approval.ArgsDigest ?? "none")}, the step has {AgenticJson.ShortDigest(step.ArgsDigest)}.");
        }
        if (approval.ToolHash is { } seen && step.Decision?.ToolHash is { } decided && seen != decided)
        {
            return Note(state, e.At, step, $"Ignored an approval by {approval.Approver}: it was given for another contract of {step.Tool} ({AgenticJson.ShortDigest(seen)}, the decision covers {AgenticJson.ShortDigest(decided)}).");
        }
        if (step.Approvals.Any(a => PrincipalIds.Same(a.Approver, approval.Approver) && a.Decision == approval.Decision && a.ArgsDigest == approval.ArgsDigest))
        {
            return state; // the same answer delivered again (a retried request): already counted
        }
        if (step.Approvals.Any(a => PrincipalIds.Same(a.Approver, approval.Approver)))
        {
            return Note(state, e.At, step, $"Ignored a second answer by {approval.Approver}: a quorum counts distinct approvers.");
        }
        var comment = string.IsNullOrWhiteSpace(approval.Comment) ? "" : $": {approval.Comment}";
        if (!approval.Approved)
        {
            state = state with { Log = state.Log.Add(new(e.At, "rejected", $"{step.Tool} rejected by {approval.Approver}{comment}", step.StepId)) };
            state = Signal(state, DriftKinds.ApprovalRejected, Ids.Approval(step.StepId), e.At, $"Rejected by {approval.Approver}{comment}", step);
            return FailPlan(WithStep(state, step with { Status = StepStatus.Rejected, Approval = approval, Error = "Rejected by " + approval.Approver }), e.At,
                $"Step {step.StepId} ({step.Tool}) rejected by {approval.Approver}{comment}");
        }
        var approvals = step.Approvals.Add(approval);
        var quorum = step.Decision?.Quorum ?? 1;
        if (approvals.Length < quorum)
        {
            state = state with { UpdatedAt = e.At, Log = state.Log.Add(new(e.At, "approved", $"{step.Tool} approved by {approval.Approver} ({approvals.Length} of {quorum}){comment}", step.StepId)) };
            return WithStep(state, step with { Approvals = approvals });
        }
        var count = quorum > 1 ? $" ({approvals.Length} of {quorum})" : "";
        state = state with { UpdatedAt = e.At, Phase = RunPhase.Acting, Log = state.Log.Add(new(e.At, "approved", $"{step.Tool} approved by {approval.Approver}{count}{comment}", step.StepId)) };
        return WithStep(state, step with { Status = StepStatus.Acting, Approval = approval, Approvals = approvals });
    }

    private AgentRunState OnApprovalTimeout(AgentRunState state, TimerFired t)
    {
        var step = state.Steps[state.Current];
        var terms = step.Decision?.Approval;
        if (!step.Escalated && terms?.EscalateTo is { } to)
        {
            var until = t.At + ApprovalTimeout(state, terms);
            state = state with { UpdatedAt = t.At, Log = state.Log.Add(new(t.At, "escalated", $"No approval by role '{step.RequiredRole}' in time; {step.Tool} now needs role '{to}' before {until:u}.", step.StepId)) };
            return WithStep(state, step with { Escalated = true, RequiredRole = to, Approvals = [], ApprovalDeadline = until });
        }
        var reason = $"Approval for step {step.StepId} ({step.Tool}) timed out after {Format(ApprovalTimeout(state, terms))}{(step.Escalated ? " (escalated once)" : "")}; the step is rejected.";
        state = Signal(state, DriftKinds.ApprovalTimeout, TimeoutId(step), t.At, reason, step);
        return FailPlan(WithStep(state, step with { Status = StepStatus.Rejected, Error = "Approval timed out." }), t.At, reason);
    }

    // The policy's timeout, capped by the one the requester asked for: both are limits.
    private static TimeSpan ApprovalTimeout(AgentRunState state, ApprovalTerms? terms) =>
        terms?.Timeout is { } t && t < state.Request.ApprovalTimeout ? t : state.Request.ApprovalTimeout;

    private AgentRunState OnActivityFailed(AgentRunState state, ActivityFailed f)
    {
        var what = $"{f.ErrorType}: {f.Message}";
        switch (state.Phase)
        {
            case RunPhase.Gating:
            {
                // The gate fails closed: no decision means no action.
                var step = state.Steps[state.Current];
                return FailPlan(WithStep(state, step with { Status = StepStatus.Denied, Error = what }), f.At,
                    $"Gate unavailable for step {step.StepId} ({step.Tool}), failing closed: {what}");
            }
            case RunPhase.Acting:
            {
                var step = state.Steps[state.Current];
                state = Charge(state, step);
                return FailPlan(WithStep(state, step with { Status = StepStatus.Failed, Error = what }), f.At,
                    $"Step {step.StepId} ({step.Tool}) failed: {what}");
            }
            case RunPhase.Verifying:
                return FailPlan(state, f.At, $"{Capitalize(f.CommandId)} failed: {what}");
            case RunPhase.Planning when StepByStep(state) && state.CompensatingFor is null:
                // The plan after an action: what the actions did is undone where it can be, as for any plan that can not finish.
                return FailPlan(state, f.At, $"{Capitalize(f.CommandId)} failed: {what}");
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


    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Format(TimeSpan span) => span.TotalSeconds < 120
        ? span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s"
        : span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + " min";
}
