using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Planning;
using Agentic.Core.Runs;
using Agentic.Core.Workflow;

namespace Agentic.Core.Activities;

/// <summary>Input of the conclude activity: how the run ended (no times: the activity stamps its records).</summary>
/// <remarks>WARNING: kept in Durable history; add members as optional.</remarks>
public sealed record ConcludeInput(string RunId, string Status, string? FailureReason, string? Summary, int Steps, int ToolCalls, double BudgetUsed)
{
    /// <summary>For a run (of workflow revision 2 or later) whose approval wait timed out: the notification to send.</summary>
    public NotifyInput? ApprovalTimedOut { get; init; }

    /// <summary>The run's agent.</summary>
    public string? Agent { get; init; }

    /// <summary>The drift the workflow saw during the run (rejections, approval timeouts, failed post-conditions), to record.</summary>
    public IReadOnlyList<RunSignal>? Signals { get; init; }

    /// <summary>The input for a run whose final document is <paramref name="run"/>.</summary>
    public static ConcludeInput From(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(run.Id, run.Status, run.FailureReason, run.Output?.Summary, run.Steps.Count, run.ToolCalls ?? 0, run.BudgetUsed ?? 0) { Agent = run.Agent };
    }
}

/// <summary>
/// Records a run's end in its audit chain (a guard that ended it, then the outcome) and signs a checkpoint that covers
/// the chain, before the orchestrator reports the run ended; then records the drift the workflow saw in the drift store
/// (the workflow does no I/O, and this is the run's one activity after the fact). Executed again, it finds its records
/// and signs and counts nothing new. When an approval wait timed out, the approval channels are told
/// (<see cref="ApprovalNotifier"/>, once per channel).
/// </summary>
public sealed class ConcludeActivity(AuditLog audit, AuditHeads heads, AuditCheckpointer checkpoints, TimeProvider clock, ApprovalNotifier? notifier = null,
    IDriftStore? drift = null) : Activity<ConcludeInput, long?>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Conclude;

    /// <inheritdoc />
    protected override async Task<long?> RunAsync(ConcludeInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.ApprovalTimedOut is { } timedOut && notifier is not null)
        {
            // Before the outcome, so the chain reads in order; a channel that fails is recorded, and not posted to again.
            await notifier.NotifyAsync(timedOut, Workflow.AgentWorkflow.Ids.TimedOutNotify(timedOut.StepId), cancellationToken);
        }
        var written = false;
        foreach (var entry in AuditEntries.Ended(input, clock.GetUtcNow()))
        {
            written |= (await audit.AppendAsync(input.RunId, entry, AuditConflict.Refuse, cancellationToken)).Written;
        }
        if (!written && await audit.Store.GetHeadAsync(input.RunId, cancellationToken) is { } head)
        {
            // Executed again: the attempt that wrote the outcome may have stopped before its checkpoint. The chain's
            // head goes into the next one whether or not that attempt signed it (a head signed twice costs a leaf).
            heads.Appended(input.RunId, head);
        }
        // The outcome is the chain's last record, so its head is the whole chain.
        var checkpoint = await checkpoints.CheckpointAsync(input.RunId, cancellationToken);
        if (input.Agent is { } agent && input.Signals is { Count: > 0 } signals)
        {
            await DriftRecorder.RecordAsync(drift, signals.Where(s => s.Origin is not null).Select(s =>
                new DriftEvent(agent, input.RunId, s.CommandId, s.Kind, s.At, s.Origin!) { StepId = s.StepId, Tool = s.Tool, Reason = s.Reason }), cancellationToken);
        }
        return checkpoint?.Number;
    }
}
