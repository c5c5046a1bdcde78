using System.Collections.Concurrent;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Policy;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Tools;

/// <summary>An <see cref="IDecisionStore"/> in memory, insert-only like the real one; <see cref="Recorded"/> lists every attempt to record, in order.</summary>
internal sealed class MemoryDecisionStore : IDecisionStore
{
    private readonly ConcurrentDictionary<(string, string), GateDecision> _decisions = new();
    private readonly ConcurrentDictionary<(string, string, string), ApprovalDecision> _approvals = new();
    private readonly ConcurrentDictionary<string, string> _submissions = new(StringComparer.Ordinal);

    public List<GateDecision> Recorded { get; } = [];

    public Task<GateDecision> RecordDecisionAsync(GateDecision decision, CancellationToken cancellationToken)
    {
        lock (Recorded)
        {
            Recorded.Add(decision);
        }
        return Task.FromResult(_decisions.GetOrAdd((decision.RunId, decision.StepId), decision));
    }

    public Task<GateDecision?> GetDecisionAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        Task.FromResult(_decisions.TryGetValue((runId, stepId), out var d) ? d : null);

    public Task<ApprovalDecision> RecordApprovalAsync(string runId, string stepId, ApprovalDecision approval, CancellationToken cancellationToken) =>
        Task.FromResult(_approvals.GetOrAdd((runId, stepId, approval.Approver.ToUpperInvariant()), approval));

    public Task<IReadOnlyList<ApprovalDecision>> GetApprovalsAsync(string runId, string stepId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalDecision>>([.. _approvals.Where(a => a.Key.Item1 == runId && a.Key.Item2 == stepId).Select(a => a.Value)]);

    public Task<bool> RecordSubmissionAsync(string runId, string principal, DateTimeOffset at, CancellationToken cancellationToken) =>
        Task.FromResult(_submissions.TryAdd(runId, principal));
}

/// <summary>An <see cref="IActionLedger"/> in memory.</summary>
internal sealed class MemoryLedger : IActionLedger
{
    private readonly ConcurrentDictionary<(string, string), ToolOutcome?> _entries = new();

    public IReadOnlyDictionary<(string, string), ToolOutcome?> Entries => _entries;

    public Task<LedgerEntry> BeginAsync(string runId, string stepId, string argsDigest, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue((runId, stepId), out var outcome) && outcome is not null)
        {
            return Task.FromResult(new LedgerEntry(LedgerBegin.Recorded, outcome, 1));
        }
        _entries[(runId, stepId)] = null;
        return Task.FromResult(new LedgerEntry(LedgerBegin.Started, null, 1));
    }

    public Task CompleteAsync(string runId, string stepId, ToolOutcome outcome, CancellationToken cancellationToken)
    {
        _entries[(runId, stepId)] = outcome;
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string runId, string stepId, CancellationToken cancellationToken)
    {
        _entries.TryRemove((runId, stepId), out _);
        return Task.CompletedTask;
    }
}

/// <summary>A tool that answers a fixed output and counts its calls.</summary>
internal sealed class FakeTool(ToolDescriptor descriptor, JsonElement output, Func<ToolCall, JsonElement>? assess = null) : IAssessingTool
{
    public int Calls { get; private set; }

    /// <summary>The calls it was asked to assess.</summary>
    public List<ToolCall> Assessed { get; } = [];

    public ToolDescriptor Descriptor => descriptor;

    public Task<ToolOutcome> InvokeAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        Calls++;
        return Task.FromResult(new ToolOutcome(200, "ok", output));
    }

    public Task<JsonElement> AssessAsync(ToolCall invocation, CancellationToken cancellationToken)
    {
        Assessed.Add(invocation);
        return assess is null
            ? throw new ToolException($"{descriptor.Name} has no assessment in this test.", retryable: false)
            : Task.FromResult(assess(invocation));
    }
}

/// <summary>A provider of a policy that permits everything; counts how often the gate asked for it.</summary>
internal sealed class PermitAllPolicy : IPolicyProvider
{
    private static readonly Agentic.Core.Policy.Language.CompiledPolicy Policy = Agentic.Core.Policy.Language.PolicyLoader.Load("""
        id: permit-all
        version: "1"
        rules:
          - id: allow-all
            effect: permit
            description: Everything is permitted in this test.
        """, "permit-all.yaml");

    public int Requests { get; private set; }

    public ValueTask<ActivePolicies> GetAsync(CancellationToken cancellationToken)
    {
        Requests++;
        return ValueTask.FromResult(new ActivePolicies(Policy));
    }
}

/// <summary>An <see cref="IControlStore"/> with nothing engaged.</summary>
internal sealed class NoControls : IControlStore
{
    public Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ControlState>>([]);

    public Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ControlState>>([]);

    public Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ControlEvent>>([]);
}

/// <summary>A secret provider that holds no secrets.</summary>
internal sealed class NoSecrets : Agentic.Core.Secrets.ISecretProvider
{
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
