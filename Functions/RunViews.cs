using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Workflow;

namespace Agentic.Functions;

// The documents of the HTTP API, with the member names of the local host's (Agentic.Runtime.Http) so
// clients see one contract. A running run's document is the orchestration's custom status, which Durable
// caps at 16 KB of UTF-16 text, so it is a summary; a finished run's document is the orchestration's
// output and tells the whole story.
//
// WARNING: RunView is persisted as the custom status and the output of every orchestration, and the
// approval trigger reads PendingApproval and Principal back from the custom status of runs in flight.
// Renaming or repurposing a member breaks approvals for those runs; add members as optional.

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
    private const int ProgressSteps = 20;
    private const int ProgressLogLines = 3;

    public static RunView Final(AgentRunState state) => From(state, compact: false);

    public static RunView Progress(AgentRunState state) => From(state, compact: true);

    public static string StatusOf(RunPhase phase) => phase switch
    {
        RunPhase.Completed => "completed",
        RunPhase.Failed => "failed",
        RunPhase.Terminated => "terminated",
        _ => "running",
    };

    private static RunView From(AgentRunState state, bool compact)
    {
        ArgumentNullException.ThrowIfNull(state);
        var request = state.Request;
        PendingApprovalView? pending = null;
        if (state.Phase == RunPhase.AwaitingApproval)
        {
            var step = state.Steps[state.Current];
            pending = new(step.StepId, step.Tool, step.ArgsDigest, step.Decision?.ApproverRole, step.ApprovalDeadline);
        }
        IReadOnlyList<StepView> steps = compact
            ? [.. state.Steps.Take(ProgressSteps).Select(s => new StepView(Clip(s.StepId, 64), Clip(s.Tool, 64), s.Status.ToString()))]
            : [.. state.Steps.Select(s => new StepView(s.StepId, s.Tool, s.Status.ToString(), s.ArgsDigest, s.Arguments, s.Rationale, s.Decision, s.Approval, s.Result, s.Error))];
        IReadOnlyList<RunLogEntry> log = compact
            ? [.. state.Log.Skip(Math.Max(0, state.Log.Length - ProgressLogLines)).Select(e => e with { Message = Clip(e.Message, 300) })]
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
            pending,
            state.Output,
            compact && state.FailureReason is { } reason ? Clip(reason, 1000) : state.FailureReason);
    }

    private static string Clip(string value, int max) =>
        value.Length <= max ? value : string.Concat(value.AsSpan(0, max - 1), "…");
}

// Arguments, decision, approval and result are left out of the running summary.
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

// Read back by the approval trigger, so the members that may be absent have defaults.
public sealed record PendingApprovalView(string StepId, string Tool, string ArgsDigest, string? ApproverRole = null, DateTimeOffset? Deadline = null, string? ApprovePostUri = null);

// The body of 202 Accepted for POST /api/runs, as on the local host.
public sealed record RunCreatedView(string Id, string StatusQueryGetUri, string TerminatePostUri, string ApprovalPostUriTemplate, bool Created);
