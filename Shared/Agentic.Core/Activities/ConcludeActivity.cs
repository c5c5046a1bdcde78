using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Runs;

namespace Agentic.Core.Activities;

/// <summary>Input of the conclude activity: how the run ended (no times: the activity stamps its records).</summary>
/// <remarks>WARNING: kept in Durable history; add members as optional.</remarks>
public sealed record ConcludeInput(string RunId, string Status, string? FailureReason, string? Summary, int Steps, int ToolCalls, double BudgetUsed)
{
    /// <summary>For a run (of workflow revision 2 or later) whose approval wait timed out: the notification to send.</summary>
    public NotifyInput? ApprovalTimedOut { get; init; }

    /// <summary>The input for a run whose final document is <paramref name="run"/>.</summary>
    public static ConcludeInput From(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(run.Id, run.Status, run.FailureReason, run.Output?.Summary, run.Steps.Count, run.ToolCalls ?? 0, run.BudgetUsed ?? 0);
    }
}

/// <summary>
/// Records a run's end in its audit chain (a guard that ended it, then the outcome) and signs a checkpoint that covers
/// the chain, before the orchestrator reports the run ended. Executed again, it finds its records and signs nothing new.
/// When an approval wait timed out, the approval channels are told (<see cref="ApprovalNotifier"/>, once per channel).
/// </summary>
public sealed class ConcludeActivity(AuditLog audit, AuditHeads heads, AuditCheckpointer checkpoints, TimeProvider clock, ApprovalNotifier? notifier = null)
    : Activity<ConcludeInput, long?>
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
        return checkpoint?.Number;
    }
}
