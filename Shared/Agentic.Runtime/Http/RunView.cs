using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Workflow;

namespace Agentic.Runtime.Http;

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
    /// <summary>Projects a stored run for the API.</summary>
    public static RunView From(RunRecord<AgentRunState> run, Func<string, string> approvalUri)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(approvalUri);
        var s = run.State;
        PendingApprovalView? pending = null;
        if (run.Status == RunStatus.Running && s.Phase == RunPhase.AwaitingApproval)
        {
            var step = s.Steps[s.Current];
            pending = new(step.StepId, step.Tool, step.ArgsDigest, step.Decision?.ApproverRole, step.ApprovalDeadline, approvalUri(step.StepId));
        }
        return new(
            run.RunId,
            run.Status.ToString().ToLowerInvariant(),
            s.Phase.ToString(),
            s.Request.Agent,
            s.Request.Principal,
            s.Request.Target,
            s.Request.Environment,
            s.Request.Goal,
            run.CreatedAt,
            run.UpdatedAt,
            [.. s.Steps.Select(StepView.From)],
            run.RunnerFailure is { } failure ? [.. s.Log, new RunLogEntry(run.UpdatedAt, "failed", failure)] : s.Log,
            pending,
            s.Output,
            run.RunnerFailure ?? s.FailureReason);
    }
}

/// <summary>One step as the API shows it.</summary>
public sealed record StepView(string StepId, string Tool, JsonElement Arguments, string ArgsDigest, string Rationale, string Status, GateDecision? Decision, ApprovalDecision? Approval, ActResult? Result, string? Error)
{
    internal static StepView From(StepState s) =>
        new(s.StepId, s.Tool, s.Arguments, s.ArgsDigest, s.Rationale, s.Status.ToString(), s.Decision, s.Approval, s.Result, s.Error);
}

/// <summary>The approval a run is waiting for, and where to send it.</summary>
public sealed record PendingApprovalView(string StepId, string Tool, string ArgsDigest, string? ApproverRole, DateTimeOffset? Deadline, string ApprovePostUri);

/// <summary>The body of a <c>202 Accepted</c> answer to <c>POST /api/runs</c>, after Durable Functions' check-status response.</summary>
public sealed record RunCreatedView(string Id, string StatusQueryGetUri, string TerminatePostUri, string ApprovalPostUriTemplate, bool Created);
