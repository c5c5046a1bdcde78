using System.Text.Json;

namespace Agentic.Core.Agents;

// WARNING: every record here is persisted in run state, activity messages and decision records.
// Renaming or removing a member breaks runs that are in flight; add members as optional.

/// <summary>
/// What the agent's signal sources saw. <see cref="Source"/>, <see cref="Digest"/> and <see cref="Details"/> are the
/// primary (first) signal's; <see cref="Healthy"/> and <see cref="Status"/> its first HTTP probe's, and for an agent
/// without one, healthy unless a signal failed its data contract. <see cref="Signals"/> holds every signal's reading.
/// </summary>
public sealed record Observation(string Source, DateTimeOffset ObservedAt, string Digest, bool Healthy, string Status, JsonElement Details)
{
    /// <summary>Every signal's reading, in the agent's order (absent in observations made before signals had readings).</summary>
    public IReadOnlyList<SignalReading>? Signals { get; init; }

    /// <summary>
    /// Why the run can not go on with this observation: a signal it depends on (the primary signal, a <c>request</c>
    /// signal) failed its data contract. The workflow fails the run with it.
    /// </summary>
    public string? Failure { get; init; }
}

/// <summary>One signal's reading, with provenance: which signal, where from, when, and a digest of the raw evidence.</summary>
/// <param name="Name">The signal's name in the agent.</param>
/// <param name="Kind">Its kind (<c>http-probe</c>, <c>queue-depth</c>, <c>table-count</c>, <c>request</c>).</param>
/// <param name="Source">Where the data came from (<c>http-probe:{uri}</c>, <c>queue-depth:{queue}</c>, <c>table-count:{table}</c>, <c>request:{path}</c>).</param>
/// <param name="ObservedAt">When it was read.</param>
/// <param name="Digest">SHA-256 of the raw evidence (a probe's body as received; otherwise the data's canonical JSON).</param>
/// <param name="Trusted">Whether the agent marks the signal as trusted.</param>
public sealed record SignalReading(string Name, string Kind, string Source, DateTimeOffset ObservedAt, string Digest, bool Trusted)
{
    /// <summary>The reading (a number, the request part, a probe's status, latency and values); absent when it failed its contract.</summary>
    public JsonElement? Value { get; init; }

    /// <summary>The data contract it was checked against (<c>{schema path}@{sha256}</c>); absent when the signal has none.</summary>
    public string? Contract { get; init; }

    /// <summary>How the data broke its contract (<c>$.path: expected ..., got ...</c>, never the data itself); absent when it kept it.</summary>
    public IReadOnlyList<string>? ContractErrors { get; init; }

    /// <summary>Whether the data broke its contract, so the reading is not used.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Violated => ContractErrors is { Count: > 0 };
}

/// <summary>One proposed action: a tool, its arguments, and why.</summary>
public sealed record PlanStep(string StepId, string Tool, JsonElement Arguments, string Rationale);

/// <summary>A planner's answer. <see cref="ExpectHealthy"/> asks for a verification probe after the last step.</summary>
public sealed record Plan(string Planner, IReadOnlyList<PlanStep> Steps, bool ExpectHealthy, string Rationale)
{
    /// <summary>The version of the agent definition that planned (<see cref="AgentDefinition.Version"/>).</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The SHA-256 of the agent definition that planned (<see cref="AgentDefinition.Hash"/>).</summary>
    public string? AgentHash { get; init; }

    /// <summary>For a language model's plan: the model, the prompt template, the tools offered, tokens, cost and taint.</summary>
    public Planning.ModelPlanning? Model { get; init; }

    /// <summary>For a language model's plan: every tool the agent lists, whether it was offered, and why.</summary>
    public IReadOnlyList<Policy.ToolOffer>? Offers { get; init; }
}

/// <summary>The gate's three answers.</summary>
public enum GateEffect
{
    /// <summary>The action may run.</summary>
    Permit,
    /// <summary>The action may not run.</summary>
    Forbid,
    /// <summary>The action may run once a qualified human other than the requester approves it.</summary>
    RequireApproval,
}

/// <summary>A recorded policy decision, bound to one step and the digest of its exact arguments.</summary>
public sealed record GateDecision(
    string RunId,
    string StepId,
    string Tool,
    string ToolVersion,
    string ArgsDigest,
    GateEffect Effect,
    string PolicyId,
    string PolicyVersion,
    string Rule,
    string Reason,
    string? ApproverRole,
    DateTimeOffset DecidedAt,
    string? PolicyHash = null)
{
    /// <summary>For <see cref="GateEffect.RequireApproval"/>: who must approve, how many, by when, and what a timeout does.</summary>
    public ApprovalTerms? Approval { get; init; }

    /// <summary>What the policy in shadow (log-only) mode would have decided; recorded, never enforced.</summary>
    public ShadowDecision? Shadow { get; init; }

    /// <summary>
    /// Everything the policy looked at, so the decision can be evaluated again with another policy
    /// (<c>agentic policy simulate</c>). Absent for decisions no policy made (kill switches, unknown tools, bad arguments).
    /// </summary>
    public DecisionRequest? Request { get; init; }

    /// <summary>What the step costs in cost units when it runs (the tool's cost), counted against the run's budget.</summary>
    public double? Cost { get; init; }

    /// <summary>The autonomy level the decision was made under.</summary>
    public string? Autonomy { get; init; }

    /// <summary>The hash of the tool's descriptor the decision was made for: a changed contract is not covered by it.</summary>
    public string? ToolHash { get; init; }

    /// <summary>How many distinct approvers a <see cref="GateEffect.RequireApproval"/> decision needs (at least 1).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Quorum => Math.Max(1, Approval?.Quorum ?? 1);
}

/// <summary>
/// Who must approve a step: <see cref="Quorum"/> distinct approvers holding <see cref="Role"/>, within <see cref="Timeout"/>;
/// after it the request goes to <see cref="EscalateTo"/> (once, with a fresh timeout) or is rejected. Never permitted by a timeout.
/// </summary>
public sealed record ApprovalTerms(string Role, int Quorum = 1, TimeSpan? Timeout = null, string? EscalateTo = null);

/// <summary>The decision a shadow (log-only) policy made for the same request.</summary>
public sealed record ShadowDecision(GateEffect Effect, string PolicyId, string PolicyVersion, string PolicyHash, string Rule, string Reason);

/// <summary>A snapshot of a policy request: principal, agent, tool contract, arguments, resource and context.</summary>
public sealed record DecisionRequest(
    string Principal,
    IReadOnlyList<string> Roles,
    string Agent,
    string Autonomy,
    string Tool,
    string ToolVersion,
    Tools.RiskLevel Risk,
    Tools.SideEffect SideEffect,
    IReadOnlyList<string> Tags,
    JsonElement Arguments,
    string Target,
    string Environment,
    int Hour,
    double BudgetUsed,
    int StepsTaken)
{
    /// <summary>Whether the step came from a model that read untrusted content.</summary>
    public bool Tainted { get; init; }

    /// <summary>The untrusted sources it read.</summary>
    public IReadOnlyList<string>? TaintSources { get; init; }

    /// <summary>What the tool's service said about the call when the gate asked (<c>assessment.*</c>), for an assessed tool.</summary>
    public JsonElement? Assessment { get; init; }

    /// <summary>Whether the tool records data as given (<see cref="Tools.ToolDescriptor.DataEntry"/>), which taint does not send for approval.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool DataEntry { get; init; }
}

/// <summary>A human's answer to an approval request, bound to a step and its argument digest.</summary>
public sealed record ApprovalDecision(string Decision, string Approver, IReadOnlyList<string> Roles, string ArgsDigest, string? Comment, DateTimeOffset DecidedAt)
{
    /// <summary>The hash of the tool's descriptor the approver saw (the decision's); an approval does not carry over to a changed contract.</summary>
    public string? ToolHash { get; init; }

    /// <summary>Whether the human said yes.</summary>
    public bool Approved => string.Equals(Decision, "approve", StringComparison.Ordinal);
}

/// <summary>What a tool call did. <see cref="Replayed"/> means the idempotency ledger answered from a recorded outcome.</summary>
public sealed record ActResult(string Tool, string ToolVersion, int? StatusCode, string Summary, JsonElement Output, bool Replayed)
{
    /// <summary>The call that undoes this one, for a reversible tool that names a compensating tool.</summary>
    public Tools.CompensationCall? Compensation { get; init; }
}

/// <summary>Input of the perceive activity (also used for the verification probe).</summary>
public sealed record PerceiveInput(string RunId, string Agent, string Target, string Purpose)
{
    /// <summary>The request's goal, for the agent's <c>request</c> signals.</summary>
    public string? Goal { get; init; }

    /// <summary>The request's parameters, for the agent's <c>request</c> signals.</summary>
    public JsonElement? Parameters { get; init; }

    /// <summary>The agent version the run was admitted with (<see cref="Runs.RunRequest.AgentVersion"/>): its signal source and targets apply.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The SHA-256 of that version's text.</summary>
    public string? AgentHash { get; init; }
}

/// <summary>Input of the plan activity.</summary>
public sealed record PlanInput(string RunId, string Agent, string? Goal, string Target, JsonElement? Parameters, Observation Observation)
{
    /// <summary>Which plan this is: 1 first, then one more each time the post-condition check fails and the run may replan.</summary>
    public int Round { get; init; } = 1;

    /// <summary>Who asked (a language model planner is offered the tools the policy could permit for them).</summary>
    public string? Principal { get; init; }

    /// <summary>The requester's roles.</summary>
    public IReadOnlyList<string>? PrincipalRoles { get; init; }

    /// <summary>The run's autonomy level.</summary>
    public string? Autonomy { get; init; }

    /// <summary>The deployment's environment.</summary>
    public string? Environment { get; init; }

    /// <summary>Cost units the run may still spend: a model call that could exceed them is not made.</summary>
    public double? BudgetRemaining { get; init; }

    /// <summary>The most steps the plan may have.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>The agent version the run was admitted with (<see cref="Runs.RunRequest.AgentVersion"/>): it plans.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The SHA-256 of that version's text.</summary>
    public string? AgentHash { get; init; }

    /// <summary>
    /// For a planner asked again after each action (<see cref="ReplanMode.AfterEachAction"/>): what every step executed so
    /// far did, in order. <c>null</c> for a planner asked once.
    /// </summary>
    public IReadOnlyList<StepOutcome>? History { get; init; }
}

/// <summary>
/// What one executed step did, as a planner asked again after each action reads it: outside content (a tool's output is
/// whatever the tool read), so a model reads it as untrusted data.
/// </summary>
/// <param name="StepId">The step's id in the run (<c>s1</c>, <c>p2.s1</c>).</param>
/// <param name="Tool">The tool called.</param>
/// <param name="ArgsDigest">The digest of the exact arguments it was called with.</param>
/// <param name="Status">How the step ended (<c>succeeded</c>, <c>failed</c>).</param>
/// <param name="Summary">The tool's one-line summary, or the error.</param>
public sealed record StepOutcome(string StepId, string Tool, string ArgsDigest, string Status, string? Summary)
{
    /// <summary>The most characters of a step's output (as JSON) a planner is given; a larger output is given as its digest and size.</summary>
    public const int MaxOutputChars = 8 * 1024;

    /// <summary>The tool's output, when it is at most <see cref="MaxOutputChars"/> as JSON.</summary>
    public JsonElement? Output { get; init; }

    /// <summary>The digest of the tool's output.</summary>
    public string? OutputDigest { get; init; }

    /// <summary>The output's size as JSON in characters, when it was left out for its size.</summary>
    public int? OutputOmittedChars { get; init; }
}

/// <summary>Input of the gate activity: everything the policy may look at.</summary>
public sealed record GateInput(string RunId, string StepId, string Principal, string Agent, string Environment, string Tool, JsonElement Arguments, string ArgsDigest, int StepsTaken)
{
    /// <summary>The run's autonomy level: observe, suggest, supervised (the default) or autonomous.</summary>
    public string? Autonomy { get; init; }

    /// <summary>The requester's roles.</summary>
    public IReadOnlyList<string>? PrincipalRoles { get; init; }

    /// <summary>The resource the run acts on.</summary>
    public string? Target { get; init; }

    /// <summary>Cost units the run has spent so far.</summary>
    public double BudgetUsed { get; init; }

    /// <summary>Whether this step undoes an earlier one (a saga compensation).</summary>
    public bool Compensation { get; init; }

    /// <summary>Whether the step was proposed by a model that read content from an untrusted source (policies: <c>context.tainted</c>).</summary>
    public bool Tainted { get; init; }

    /// <summary>Those sources (policies: <c>context.taintSources</c>).</summary>
    public IReadOnlyList<string>? TaintSources { get; init; }

    /// <summary>For a step a language model proposed: the planner, prompt and model, which a forbid is recorded against as drift.</summary>
    public Planning.PlanOrigin? Origin { get; init; }
}

/// <summary>Input of the act activity, with the decision (and approval) it is executed under.</summary>
public sealed record ActInput(string RunId, string StepId, string Target, string Tool, JsonElement Arguments, string ArgsDigest, GateDecision Decision, ApprovalDecision? Approval, string? Agent = null)
{
    /// <summary>The agent version the run was admitted with (<see cref="Runs.RunRequest.AgentVersion"/>): its targets apply to the call.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The SHA-256 of that version's text.</summary>
    public string? AgentHash { get; init; }
}

/// <summary>What an approval notification says happened: a step waits, it was escalated, or its wait timed out.</summary>
public static class NotifyKinds
{
    /// <summary>A step waits for approval.</summary>
    public const string Requested = "approval.requested";

    /// <summary>Nobody answered in time; the request went to the escalation role.</summary>
    public const string Escalated = "approval.escalated";

    /// <summary>Nobody answered in time; the step was rejected.</summary>
    public const string TimedOut = "approval.timed-out";
}

/// <summary>
/// Input of the notify activity: the wait, and everything an approver needs to decide whether to open it. The step's
/// <c>Arguments</c> are sent with every field the tool's schema marks sensitive replaced by its digest; <c>Role</c> is
/// the role that may decide now, <c>Approvers</c> who approved so far toward the <c>Quorum</c>.
/// </summary>
/// <remarks>WARNING: kept in Durable history; add members as optional.</remarks>
public sealed record NotifyInput(
    string RunId, string StepId, string Kind, string Agent, string RequestedBy, string Target, string Tool, JsonElement Arguments, string ArgsDigest,
    GateDecision Decision, string Role, int Quorum, DateTimeOffset Deadline, IReadOnlyList<string> Approvers);

/// <summary>What the notify activity did, per channel.</summary>
/// <param name="Deliveries">One per configured approval channel.</param>
public sealed record NotifyResult(IReadOnlyList<NotifyDelivery> Deliveries)
{
    /// <summary>One line for the run's log.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Summary => Deliveries.Count == 0
        ? "no approval channel is configured (Agentic:Notify:Approvals:Channels)."
        : string.Join("; ", Deliveries.Select(d => d.Sent ? $"sent to {d.Channel}{(d.Replayed ? " (already)" : "")}" : $"not sent to {d.Channel}: {d.Error}")) + ".";

    /// <summary>The summary of a result as the activity returned it (a result that does not read as one says so).</summary>
    public static string SummaryOf(JsonElement result)
    {
        try
        {
            return Json.AgenticJson.FromElement<NotifyResult>(result) is { Deliveries: not null } read ? read.Summary : "answered without deliveries.";
        }
        catch (JsonException)
        {
            return "answered with something that is not a notification result.";
        }
    }
}

/// <summary>One channel's notification.</summary>
/// <param name="Channel">The channel's name.</param>
/// <param name="Sent">Whether the channel took it (2xx).</param>
/// <param name="Status">The hook's HTTP status, when it answered.</param>
/// <param name="Replayed">Whether an earlier attempt had sent it (recorded in the run's audit chain), so it was not sent again.</param>
/// <param name="Error">Why it was not sent.</param>
public sealed record NotifyDelivery(string Channel, bool Sent, int? Status, bool Replayed, string? Error);

/// <summary>The activity names both hosts register. <c>nameof</c> keeps them in one place.</summary>
public static class AgentActivities
{
    // WARNING: activity names are persisted in queued work and Durable history; renaming breaks runs in flight.

    /// <summary>Observe the target through its signal sources.</summary>
    public const string Perceive = nameof(Perceive);

    /// <summary>Turn an observation into a plan.</summary>
    public const string Plan = nameof(Plan);

    /// <summary>Evaluate the policy for one step and record the decision.</summary>
    public const string Gate = nameof(Gate);

    /// <summary>Execute one permitted step through the tool registry and the idempotency ledger.</summary>
    public const string Act = nameof(Act);

    /// <summary>Record the run's end in its audit chain and sign a checkpoint over it.</summary>
    public const string Conclude = nameof(Conclude);

    /// <summary>Tell the approvers' channels that a step waits for them (or was escalated to them).</summary>
    public const string Notify = nameof(Notify);

    /// <summary>Every activity a host registers.</summary>
    public static IReadOnlyList<string> All { get; } = [Perceive, Plan, Gate, Act, Conclude, Notify];
}
