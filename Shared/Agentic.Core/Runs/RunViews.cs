using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Workflow;

namespace Agentic.Core.Runs;

// The documents of the HTTP API, shared by both hosts so clients see one contract.
// WARNING: the Functions host persists RunView as the custom status and output of every orchestration, and its
// approval trigger reads PendingApproval and Principal back from runs in flight. Add members as optional.

/// <summary>The status document of <c>GET /api/runs/{id}</c>.</summary>
public sealed record RunView(
    string Id,
    string Status,
    string Phase,
    string Agent,
    string Principal,
    string Target,
    string Environment,
    string? Goal,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<StepView> Steps,
    IReadOnlyList<RunLogEntry> Log,
    PendingApprovalView? PendingApproval,
    RunOutput? Output,
    string? FailureReason)
{
    private const int SummarySteps = 20;

    /// <summary>The autonomy the run has.</summary>
    public string? Autonomy { get; init; }

    /// <summary>Tool calls made so far.</summary>
    public int? ToolCalls { get; init; }

    /// <summary>Cost units spent so far.</summary>
    public double? BudgetUsed { get; init; }

    /// <summary>Plans made so far (a replan after a failed post-condition is another); full documents only.</summary>
    public int? Plans { get; init; }

    /// <summary>What the run perceived before it planned (source, time, digest, status, details); full documents only.</summary>
    public Observation? Observation { get; init; }

    /// <summary>For a run a monitor started: the monitor, its tick, the incident key and the digest of what it saw.</summary>
    public Monitors.MonitorOrigin? Monitor { get; init; }
    private const int SummaryLogLines = 3;

    /// <summary>The status a run in <paramref name="phase"/> reports.</summary>
    public static string StatusOf(RunPhase phase) => phase switch
    {
        RunPhase.Completed => "completed",
        RunPhase.Failed => "failed",
        RunPhase.Terminated => "terminated",
        _ => "running",
    };

    /// <summary>
    /// The full document of a run. A host that keeps its own envelope passes what it knows better than the state:
    /// its status, its creation time, a failure it recorded outside the workflow (a poison message).
    /// </summary>
    public static RunView From(AgentRunState state, Func<string, string>? approvalUri = null, string? status = null, DateTimeOffset? createdAt = null, DateTimeOffset? updatedAt = null, string? hostFailure = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var at = updatedAt ?? state.UpdatedAt;
        return Build(state, compact: false, approvalUri) with
        {
            Status = status ?? StatusOf(state.Phase),
            CreatedAt = createdAt ?? state.StartedAt,
            UpdatedAt = at,
            Log = hostFailure is null ? state.Log : [.. state.Log, new RunLogEntry(at, "failed", hostFailure)],
            PendingApproval = hostFailure is null ? Pending(state, approvalUri) : null,
            FailureReason = hostFailure ?? state.FailureReason,
        };
    }

    /// <summary>
    /// A bounded summary of a run in flight (no arguments, decisions or results; the last log lines), for hosts
    /// that store the document where size is capped (a Durable custom status).
    /// </summary>
    public static RunView Summary(AgentRunState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Build(state, compact: true, approvalUri: null);
    }

    private static RunView Build(AgentRunState state, bool compact, Func<string, string>? approvalUri)
    {
        var request = state.Request;
        IReadOnlyList<StepView> steps = compact
            ? [.. state.Steps.Take(SummarySteps).Select(s => new StepView(Clip(s.StepId, 64), Clip(s.Tool, 64), s.Status.ToString()))]
            : [.. state.Steps.Select(s => new StepView(s.StepId, s.Tool, s.Status.ToString(), s.ArgsDigest, s.Arguments, s.Rationale, s.Decision, s.Approval, s.Result, s.Error))];
        IReadOnlyList<RunLogEntry> log = compact
            ? [.. state.Log.Skip(Math.Max(0, state.Log.Length - SummaryLogLines)).Select(e => e with { Message = Clip(e.Message, 300) })]
            : state.Log;
        return new RunView(
            state.RunId,
            StatusOf(state.Phase),
            state.Phase.ToString(),
            request.Agent,
            request.Principal,
            compact ? Clip(request.Target, 256) : request.Target,
            request.Environment,
            compact ? null : request.Goal,
            state.StartedAt,
            state.UpdatedAt,
            steps,
            log,
            Pending(state, approvalUri),
            state.Output,
            compact && state.FailureReason is { } reason ? Clip(reason, 1000) : state.FailureReason)
        {
            Autonomy = request.EffectiveAutonomy,
            ToolCalls = state.ToolCalls,
            BudgetUsed = state.BudgetUsed,
            Plans = compact ? null : state.Plans,
            Observation = compact ? null : state.Observation,
            Monitor = request.Monitor,
        };
    }

    /// <summary>The approval <paramref name="state"/> waits for, if any, with its URI when <paramref name="approvalUri"/> is given.</summary>
    public static PendingApprovalView? Pending(AgentRunState state, Func<string, string>? approvalUri = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Phase != RunPhase.AwaitingApproval)
        {
            return null;
        }
        var step = state.Steps[state.Current];
        var quorum = step.Decision?.Quorum ?? 1;
        return new(step.StepId, step.Tool, step.ArgsDigest, step.RequiredRole ?? step.Decision?.ApproverRole, step.ApprovalDeadline, approvalUri?.Invoke(step.StepId))
        {
            Quorum = quorum,
            ApprovedBy = [.. step.Approvals.Select(a => a.Approver)],
            Escalated = step.Escalated ? true : null,
            ToolHash = step.Decision?.ToolHash,
            Rule = step.Decision?.Rule,
            Policy = step.Decision is { } decision ? $"{decision.PolicyId}@{decision.PolicyVersion}" : null,
            ArgsSummary = ArgumentSummary.Of(step.Arguments),
        };
    }

    private static string Clip(string value, int max) =>
        value.Length <= max ? value : string.Concat(value.AsSpan(0, max - 1), "…");
}

/// <summary>One step as the API shows it; a summary leaves out everything after <see cref="Status"/>.</summary>
public sealed record StepView(
    string StepId,
    string Tool,
    string Status,
    string? ArgsDigest = null,
    JsonElement? Arguments = null,
    string? Rationale = null,
    GateDecision? Decision = null,
    ApprovalDecision? Approval = null,
    ActResult? Result = null,
    string? Error = null);

/// <summary>The approval a run is waiting for, and where to send it.</summary>
public sealed record PendingApprovalView(string StepId, string Tool, string ArgsDigest, string? ApproverRole = null, DateTimeOffset? Deadline = null, string? ApprovePostUri = null)
{
    /// <summary>How many distinct approvers must approve.</summary>
    public int? Quorum { get; init; }

    /// <summary>Who approved so far.</summary>
    public IReadOnlyList<string>? ApprovedBy { get; init; }

    /// <summary>Whether a timeout escalated the request to <see cref="ApproverRole"/>.</summary>
    public bool? Escalated { get; init; }

    /// <summary>The hash of the tool contract the approval is for.</summary>
    public string? ToolHash { get; init; }

    /// <summary>The policy rule that asked for the approval.</summary>
    public string? Rule { get; init; }

    /// <summary>The policy (<c>id@version</c>) whose rule asked for it.</summary>
    public string? Policy { get; init; }

    /// <summary>The step's arguments as compact JSON, cut at <see cref="ArgumentSummary.MaxChars"/> characters; the approval is bound to <see cref="ArgsDigest"/>.</summary>
    public string? ArgsSummary { get; init; }
}

/// <summary>The body of a <c>202 Accepted</c> answer to <c>POST /api/runs</c>, after Durable Functions' check-status response.</summary>
public sealed record RunCreatedView(string Id, string StatusQueryGetUri, string TerminatePostUri, string ApprovalPostUriTemplate, bool Created);

/// <summary>The body of <c>POST /api/runs/{id}/approvals/{stepId}</c>: <c>{ "decision": "approve" | "reject", "comment": "..." }</c>.</summary>
public sealed record ApprovalRequest(string Decision, string? Comment)
{
    /// <summary>Whether the caller approves.</summary>
    public bool Approve => Decision == "approve";

    /// <summary>Parses a body strictly; throws <see cref="InputException"/> naming the problem.</summary>
    public static ApprovalRequest Parse(ReadOnlySpan<byte> body)
    {
        if (body.Length > RunRequestParser.MaxBodyBytes)
        {
            throw new InputException("Request body too large", [new("$", $"At most {RunRequestParser.MaxBodyBytes} bytes are accepted.")]);
        }
        Wire? wire;
        try
        {
            wire = body.IsEmpty ? null : JsonSerializer.Deserialize<Wire>(body, AgenticJson.Strict);
        }
        catch (JsonException ex)
        {
            throw new InputException("Malformed JSON", [new(string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path, ex.Message.Split(". ")[0] + ".")]);
        }
        if (wire?.Decision is not ("approve" or "reject"))
        {
            throw new InputException("Invalid approval", [new("decision", "Required: \"approve\" or \"reject\".")]);
        }
        if (wire.Comment is { Length: > 1000 })
        {
            throw new InputException("Invalid approval", [new("comment", "At most 1000 characters.")]);
        }
        return new(wire.Decision, wire.Comment);
    }

    private sealed record Wire(string? Decision = null, string? Comment = null);
}

/// <summary>
/// Who may answer an approval, the same in both hosts (the decider checks again when the event arrives): the run
/// must be waiting for that step; the approver must be identified, must not be the requester, and must hold the
/// role the decision names.
/// </summary>
public static class ApprovalRules
{
    /// <summary>The principal of an unidentified caller.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>Why the run can not take an approval for <paramref name="stepId"/> now, or <c>null</c> if it can.</summary>
    public static string? NotAwaiting(string runId, string stepId, bool running, PendingApprovalView? pending, string phase)
    {
        if (running && pending is not null && string.Equals(pending.StepId, stepId, StringComparison.Ordinal))
        {
            return null;
        }
        var waiting = running && pending is not null ? $"it is waiting for step {pending.StepId}" : $"it is {(running ? "running" : "ended")}, phase {phase}";
        return $"Run {runId} is not waiting for approval of step '{stepId}': {waiting}.";
    }

    /// <summary>
    /// The answer <paramref name="approver"/> already gave for these arguments, if any, among the answers stored for the
    /// step. One answer per approver and step: a quorum counts distinct people and a recorded answer is never
    /// overwritten. The same answer again is a retry (deliver the recorded one again); another answer is refused
    /// (<see cref="ChangedAnswer(ApprovalDecision, string)"/>).
    /// </summary>
    public static ApprovalDecision? EarlierAnswer(IReadOnlyList<ApprovalDecision> earlier, string approver, string argsDigest)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return earlier.FirstOrDefault(a => PrincipalIds.Same(a.Approver, approver) && a.ArgsDigest == argsDigest);
    }

    /// <summary>Why an approver who already answered <paramref name="earlier"/> may not now answer <paramref name="decision"/>, or <c>null</c> for the same answer.</summary>
    public static string? ChangedAnswer(ApprovalDecision earlier, string decision)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return earlier.Decision == decision
            ? null
            : $"{earlier.Approver} already answered '{earlier.Decision}' for this step; a recorded answer is not changed.";
    }

    /// <summary>
    /// Why the answer stored for an approver (<paramref name="stored"/>, the first one: the store is insert-only) is not
    /// <paramref name="decision"/> for <paramref name="argsDigest"/>, or <c>null</c> when it is that answer. Two requests
    /// by the same approver can race past <see cref="EarlierAnswer"/>; the one stored first stands and the other is refused.
    /// </summary>
    public static string? ChangedAnswer(ApprovalDecision stored, string decision, string argsDigest)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return stored.ArgsDigest != argsDigest
            ? $"{stored.Approver} already answered '{stored.Decision}' for this step's arguments {AgenticJson.ShortDigest(stored.ArgsDigest ?? "none")}; a recorded answer is not changed."
            : ChangedAnswer(stored, decision);
    }

    /// <summary>
    /// Whether <paramref name="approver"/> may decide <paramref name="pending"/> now: identified, not the requester, holding
    /// the role it needs, and not among those who approved it already.
    /// </summary>
    public static bool MayDecide(PendingApprovalView pending, string requester, string approver, IReadOnlyList<string> roles)
    {
        ArgumentNullException.ThrowIfNull(pending);
        return Refusal(pending, requester, approver, roles) is null
            && !(pending.ApprovedBy ?? []).Any(a => PrincipalIds.Same(a, approver));
    }

    /// <summary>Why <paramref name="approver"/> may not answer <paramref name="pending"/>, or <c>null</c> if they may.</summary>
    public static string? Refusal(PendingApprovalView pending, string requester, string approver, IReadOnlyList<string> roles)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(roles);
        if (string.IsNullOrWhiteSpace(approver) || PrincipalIds.Same(approver, Anonymous))
        {
            return "Approvals need an identified approver.";
        }
        if (PrincipalIds.Same(approver, requester))
        {
            return $"{approver} requested this run and can not approve its actions.";
        }
        if (pending.ApproverRole is { } role && !roles.Contains(role, StringComparer.OrdinalIgnoreCase))
        {
            return $"Approving {pending.Tool} needs the role '{role}'.";
        }
        return null;
    }
}
