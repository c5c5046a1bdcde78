using System.Collections.Concurrent;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Runs;

namespace Agentic.Durable.Tests.Support;

/// <summary>An <see cref="IDecisionStore"/> in memory, insert-only like the table one: the first record for a key stands.</summary>
internal sealed class MemoryDecisionStore : IDecisionStore
{
    private readonly ConcurrentDictionary<(string Run, string Step), GateDecision> _decisions = new();
    private readonly ConcurrentDictionary<(string Run, string Step, string Approver), ApprovalDecision> _approvals = new();
    private readonly ConcurrentDictionary<string, string> _submissions = new(StringComparer.Ordinal);

    public Task<bool> RecordSubmissionAsync(string runId, string principal, DateTimeOffset at, CancellationToken cancellationToken) =>
        Task.FromResult(_submissions.TryAdd(runId, principal));

    public Task<GateDecision> RecordDecisionAsync(GateDecision decision, CancellationToken cancellationToken) =>
        Task.FromResult(_decisions.GetOrAdd((decision.RunId, decision.StepId), decision));

    public Task<GateDecision?> GetDecisionAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        Task.FromResult(_decisions.TryGetValue((runId, stepId), out var decision) ? decision : null);

    // Keyed by the normalized approver, as the product compares principals: "Bob" and "bob" are one approver.
    public Task<ApprovalDecision> RecordApprovalAsync(string runId, string stepId, ApprovalDecision approval, CancellationToken cancellationToken) =>
        Task.FromResult(_approvals.GetOrAdd((runId, stepId, PrincipalIds.Normalize(approval.Approver)), approval));

    public Task<IReadOnlyList<ApprovalDecision>> GetApprovalsAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalDecision>>([.. _approvals.Where(a => a.Key.Run == runId && a.Key.Step == stepId).Select(a => a.Value)]);
}
