using System.Diagnostics;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;

namespace Agentic.Core.Activities;

/// <summary>
/// Executes one step: proves a stored decision (and approval) exists for the exact arguments, in the decision store and
/// in the run's audit chain, then calls the tool through the idempotency ledger so a redelivered attempt never repeats a
/// side effect. The audit chain gets the action before the call (with sensitive arguments as digests) and its outcome
/// after.
/// </summary>
public sealed class ActActivity(ToolRegistry tools, ToolExecutor executor, IDecisionStore decisions, IActionLedger ledger, IControlStore controls, ControlWatch watch, AuditLog audit, TimeProvider clock,
    IAgentCatalogProvider agents, IEnumerable<IToolGuard>? guards = null) : Activity<ActInput, ActResult>
{
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public override string Name => AgentActivities.Act;

    /// <inheritdoc />
    protected override async Task<ActResult> RunAsync(ActInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        if (!tools.TryResolve(input.Tool, out var tool))
        {
            throw new NonRetryableException($"No tool named '{input.Tool}' is registered.");
        }
        // The tool's guards again (an MCP server may have changed what it announces since the gate): a refusal stops the
        // step before any side effect. A guard may bring the contract up to date; the decision must be for that contract.
        if (await ToolGuards.CheckAsync(guards, tools, tool, cancellationToken) is { } refusal)
        {
            await audit.AppendAsync(input.RunId, AuditEntries.ControlApplied(input.StepId, input.Tool, refusal.Rule, "mcp-pin", "act", clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
            throw new NonRetryableException($"Refused by {refusal.Rule}: {refusal.Reason}");
        }
        var approvals = await EnsureAuthorizedAsync(input, tool.Descriptor, cancellationToken);
        // A kill switch or quarantine engaged after the gate (say, while the step waited for approval) still stops it.
        if ((await controls.GetActiveAsync(input.Agent ?? "", input.Tool, cancellationToken)) is [var control, ..])
        {
            Telemetry.AgenticTelemetry.ControlStopped(control.Rule, "act", input.Agent);
            await audit.AppendAsync(input.RunId, AuditEntries.ControlApplied(input.StepId, input.Tool, control.Rule, control.EngagedBy, "act", clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
            throw new NonRetryableException($"Stopped by {control.Rule}, engaged by {control.EngagedBy}: {control.Reason}");
        }

        var descriptor = tool.Descriptor;
        // The targets of the agent version the run was admitted with narrow the call, as they did its perception.
        var agent = input.Agent is null ? null : await agents.ForRunAsync(input.Agent, input.AgentVersion, input.AgentHash, cancellationToken);
        var call = new ToolCall(input.RunId, input.StepId, input.Target, input.Arguments, $"{input.RunId}/{input.StepId}") { Agent = input.Agent, AgentTargets = agent?.Targets };
        if (descriptor.SideEffect == SideEffect.ReadOnly)
        {
            await audit.AppendAsync(input.RunId, AuditEntries.ActionStarted(input, descriptor, approvals, clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
            return await AuditedAsync(input, descriptor, await MeasuredAsync(input, () => InvokeAsync(tool, call, input.Agent ?? "", cancellationToken), cancellationToken), replayed: false, cancellationToken);
        }

        // The call can not outlive the executor's bound (waiting for a slot and a permit, then the call, each within the
        // tool's timeout), so a lease a little longer than that means a holder that died
        // mid-call is taken over soon, through the Resumed path and the same idempotency key.
        var entry = await ledger.BeginAsync(input.RunId, input.StepId, input.ArgsDigest, ToolExecutor.MaxDuration(descriptor) + LeaseMargin, cancellationToken);
        switch (entry.State)
        {
            case LedgerBegin.Recorded:
                return await AuditedAsync(input, descriptor, (entry.Outcome!, TimeSpan.Zero), replayed: true, cancellationToken);
            case LedgerBegin.Busy:
                throw new ActivityBusyException($"Step {input.StepId} of run {input.RunId} is being executed by another worker.", entry.LeaseUntil);
            case LedgerBegin.Resumed when !descriptor.Idempotent:
                throw new NonRetryableException(
                    $"An earlier attempt of {descriptor.Name} was interrupted and its outcome is unknown; the tool is not idempotent, so it is not called again.");
        }
        // Started, or Resumed with an idempotent tool: the idempotency key makes the repeat harmless. The action is in
        // the audit chain before the call.
        (ToolOutcome Outcome, TimeSpan Took) done;
        try
        {
            await audit.AppendAsync(input.RunId, AuditEntries.ActionStarted(input, descriptor, approvals, clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
            done = await MeasuredAsync(input, () => InvokeAsync(tool, call, input.Agent ?? "", cancellationToken), cancellationToken);
        }
        catch (Exception ex) when (ex is not NonRetryableException)
        {
            await ledger.ReleaseAsync(input.RunId, input.StepId, CancellationToken.None);
            throw;
        }
        await ledger.CompleteAsync(input.RunId, input.StepId, done.Outcome, cancellationToken);
        return await AuditedAsync(input, descriptor, done, replayed: false, cancellationToken);
    }

    // Times the call; a failure goes into the audit chain (its class, not its text) before it propagates.
    private async Task<(ToolOutcome Outcome, TimeSpan Took)> MeasuredAsync(ActInput input, Func<Task<ToolOutcome>> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return (await call(), Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            await audit.AppendAsync(input.RunId, AuditEntries.ActionFailed(input, ex, Stopwatch.GetElapsedTime(started), clock.GetUtcNow()), AuditConflict.Amend, CancellationToken.None);
            throw;
        }
    }

    // The outcome in the audit chain, then the result. An outcome answered from the ledger was recorded by the attempt
    // that made the call, unless it stopped in between.
    private async Task<ActResult> AuditedAsync(ActInput input, ToolDescriptor descriptor, (ToolOutcome Outcome, TimeSpan Took) done, bool replayed, CancellationToken cancellationToken)
    {
        if (!replayed || await audit.FindAsync(input.RunId, AuditEntries.OutcomeOf(input.StepId), cancellationToken) is null)
        {
            await audit.AppendAsync(input.RunId, AuditEntries.ActionSucceeded(input, done.Outcome, replayed, done.Took, clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
        }
        return ToResult(descriptor, done.Outcome, replayed);
    }

    // The decision (and, where it required them, the approvals) in the decision store and in the audit chain; the ids of
    // the approval records the action follows from.
    private async Task<IReadOnlyList<string>> EnsureAuthorizedAsync(ActInput input, ToolDescriptor tool, CancellationToken cancellationToken)
    {
        var decision = await decisions.GetDecisionAsync(input.RunId, input.StepId, cancellationToken)
            ?? throw new NonRetryableException($"No recorded decision for step {input.StepId}: refusing to act.");
        await EnsureAuditedAsync(input, decision, cancellationToken);
        if (decision.ArgsDigest != input.ArgsDigest || decision.Tool != input.Tool)
        {
            throw new NonRetryableException($"The recorded decision for step {input.StepId} covers {decision.Tool} {decision.ArgsDigest}, not {input.Tool} {input.ArgsDigest}: refusing to act.");
        }
        // A decision covers the contract it was made for; a tool whose descriptor changed since is another tool.
        if (decision.ToolHash is { } decided && tools.HashOf(tool.Name) is var current && decided != current)
        {
            throw new NonRetryableException($"The contract of {tool.Name} changed since step {input.StepId} was decided ({decision.ToolVersion} {AgenticJson.ShortDigest(decided)}, now {tool.Version} {AgenticJson.ShortDigest(current)}): refusing to act.");
        }
        switch (decision.Effect)
        {
            case GateEffect.Permit:
                return [];
            case GateEffect.RequireApproval:
            {
                // The quorum counts distinct approvers who approved these exact arguments holding the role the decision
                // named (or the role it escalates to); one recorded rejection of these arguments refuses the step.
                var answers = await decisions.GetApprovalsAsync(input.RunId, input.StepId, cancellationToken);
                var roles = new[] { decision.Approval?.Role ?? decision.ApproverRole, decision.Approval?.EscalateTo }.OfType<string>().ToArray();
                var forThese = answers.Where(a => a.ArgsDigest == input.ArgsDigest && (a.ToolHash is null || a.ToolHash == decision.ToolHash)
                    && (roles.Length == 0 || (a.Roles ?? []).Intersect(roles, StringComparer.OrdinalIgnoreCase).Any())).ToList();
                if (forThese.FirstOrDefault(a => !a.Approved) is { } rejection)
                {
                    throw new NonRetryableException($"Step {input.StepId} was rejected by {rejection.Approver}: refusing to act.");
                }
                var quorum = decision.Quorum;
                var approvers = forThese.Select(a => a.Approver).Distinct(PrincipalIds.Comparer).Count();
                if (approvers < quorum)
                {
                    throw new NonRetryableException($"Step {input.StepId} requires {quorum} approval(s) for {input.ArgsDigest}; {approvers} recorded: refusing to act.");
                }
                var ids = forThese.Select(a => AuditEntries.ApprovalId(input.StepId, a.Approver)).Distinct(StringComparer.Ordinal).ToList();
                foreach (var id in ids)
                {
                    if (await audit.FindAsync(input.RunId, id, cancellationToken) is null)
                    {
                        throw new NonRetryableException($"The approval record {id} is not in the audit chain of run {input.RunId}: refusing to act.");
                    }
                }
                return ids;
            }
            default:
                throw new NonRetryableException($"Step {input.StepId} was forbidden by rule '{decision.Rule}': refusing to act.");
        }
    }

    // Write-ahead (invariant 1): the decision the step acts under must be in the run's audit chain, for the same tool,
    // arguments and effect, before any side effect.
    private async Task EnsureAuditedAsync(ActInput input, GateDecision decision, CancellationToken cancellationToken)
    {
        var record = await audit.FindAsync(input.RunId, Workflow.AgentWorkflow.Ids.Gate(input.StepId), cancellationToken)
            ?? throw new NonRetryableException($"The decision for step {input.StepId} is not in the audit chain of run {input.RunId}: refusing to act.");
        var data = record.Read().Data;
        var effect = AgenticJson.ToElement(decision.Effect).GetString();
        if (data.GetProperty("tool").GetString() != decision.Tool || data.GetProperty("argsDigest").GetString() != decision.ArgsDigest
            || data.GetProperty("effect").GetString() != effect)
        {
            throw new NonRetryableException($"The audit record of step {input.StepId}'s decision does not match the stored decision: refusing to act.");
        }
    }

    // The call runs under the executor's limits, and is cancelled if a kill switch or quarantine that applies to it
    // is engaged while it is in flight.
    private async Task<ToolOutcome> InvokeAsync(ITool tool, ToolCall call, string agent, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ControlState? stoppedBy = null;
        using (watch.Watch(agent, tool.Descriptor.Name, control =>
        {
            stoppedBy = control;
            cancel.Cancel();
        }))
        {
            try
            {
                return await executor.InvokeAsync(tool, call, cancel.Token);
            }
            catch (ToolException ex) when (!ex.Retryable)
            {
                throw new NonRetryableException(ex.Message, ex);
            }
            catch (Exception ex) when (stoppedBy is { } control && !cancellationToken.IsCancellationRequested && ex is OperationCanceledException or ToolException)
            {
                Telemetry.AgenticTelemetry.ControlStopped(control.Rule, "in-flight", agent);
                throw new NonRetryableException($"Cancelled in flight by {control.Rule}, engaged by {control.EngagedBy}: {control.Reason}", ex);
            }
        }
    }

    // Checked after the ledger recorded the outcome: the side effect happened, so a redelivery answers the same
    // recorded outcome and fails the same way instead of calling the tool again.
    private ActResult ToResult(ToolDescriptor tool, ToolOutcome outcome, bool replayed)
    {
        var violations = tools.ValidateOutput(tool.Name, outcome.Output);
        if (violations.Count > 0)
        {
            throw new NonRetryableException($"{tool.Name}@{tool.Version} returned output that violates its output schema: {string.Join("; ", violations)}.");
        }
        // Only a reversible tool's own compensating tool may undo it: an outcome can not name another tool.
        var compensation = tool.SideEffect == SideEffect.Reversible && outcome.Compensation is { } undo && undo.Tool == tool.CompensatingTool ? undo : null;
        return new(tool.Name, tool.Version, outcome.StatusCode, outcome.Summary, outcome.Output, replayed) { Compensation = compensation };
    }
}
