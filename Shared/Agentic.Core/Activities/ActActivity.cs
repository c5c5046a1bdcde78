using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Json;
using Agentic.Core.Runs;
using Agentic.Core.Tools;

namespace Agentic.Core.Activities;

/// <summary>
/// Executes one step: proves a stored decision (and approval) exists for the exact arguments, then
/// calls the tool through the idempotency ledger so a redelivered attempt never repeats a side effect.
/// </summary>
public sealed class ActActivity(ToolRegistry tools, ToolExecutor executor, IDecisionStore decisions, IActionLedger ledger, IControlStore controls, ControlWatch watch) : Activity<ActInput, ActResult>
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
        await EnsureAuthorizedAsync(input, tool.Descriptor, cancellationToken);
        // A kill switch or quarantine engaged after the gate (say, while the step waited for approval) still stops it.
        if ((await controls.GetActiveAsync(input.Agent ?? "", input.Tool, cancellationToken)) is [var control, ..])
        {
            throw new NonRetryableException($"Stopped by {control.Rule}, engaged by {control.EngagedBy}: {control.Reason}");
        }

        var descriptor = tool.Descriptor;
        var call = new ToolCall(input.RunId, input.StepId, input.Target, input.Arguments, $"{input.RunId}/{input.StepId}") { Agent = input.Agent };
        if (descriptor.SideEffect == SideEffect.ReadOnly)
        {
            return ToResult(descriptor, await InvokeAsync(tool, call, input.Agent ?? "", cancellationToken), replayed: false);
        }

        // The call can not outlive the executor's bound (waiting for a slot and a permit, then the call, each within the
        // tool's timeout), so a lease a little longer than that means a holder that died
        // mid-call is taken over soon, through the Resumed path and the same idempotency key.
        var entry = await ledger.BeginAsync(input.RunId, input.StepId, input.ArgsDigest, ToolExecutor.MaxDuration(descriptor) + LeaseMargin, cancellationToken);
        switch (entry.State)
        {
            case LedgerBegin.Recorded:
                return ToResult(descriptor, entry.Outcome!, replayed: true);
            case LedgerBegin.Busy:
                throw new ActivityBusyException($"Step {input.StepId} of run {input.RunId} is being executed by another worker.", entry.LeaseUntil);
            case LedgerBegin.Resumed when !descriptor.Idempotent:
                throw new NonRetryableException(
                    $"An earlier attempt of {descriptor.Name} was interrupted and its outcome is unknown; the tool is not idempotent, so it is not called again.");
        }
        // Started, or Resumed with an idempotent tool: the idempotency key makes the repeat harmless.
        ToolOutcome outcome;
        try
        {
            outcome = await InvokeAsync(tool, call, input.Agent ?? "", cancellationToken);
        }
        catch (Exception ex) when (ex is not NonRetryableException)
        {
            await ledger.ReleaseAsync(input.RunId, input.StepId, CancellationToken.None);
            throw;
        }
        await ledger.CompleteAsync(input.RunId, input.StepId, outcome, cancellationToken);
        return ToResult(descriptor, outcome, replayed: false);
    }

    private async Task EnsureAuthorizedAsync(ActInput input, ToolDescriptor tool, CancellationToken cancellationToken)
    {
        var decision = await decisions.GetDecisionAsync(input.RunId, input.StepId, cancellationToken)
            ?? throw new NonRetryableException($"No recorded decision for step {input.StepId}: refusing to act.");
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
                return;
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
                return;
            }
            default:
                throw new NonRetryableException($"Step {input.StepId} was forbidden by rule '{decision.Rule}': refusing to act.");
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
