using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Governance;
using Agentic.Core.Planning;
using Agentic.Core.Policy;
using Agentic.Core.Tools;
using Agentic.Core.Workflow;

namespace Agentic.Core.Activities;

/// <summary>
/// Decides one step and stores the decision before answering, so the act activity can prove a decision exists for
/// the exact arguments. A step is decided once: executed again, the activity answers the decision stored first. In order: kill switches and quarantines, the tool registry (unknown tools, arguments that
/// violate the input schema), the tool guards (an MCP tool's pin), the tool's assessment by its service (an
/// <see cref="IAssessingTool"/>), then the active policies under the run's autonomy (<see cref="PolicyGate"/>).
/// Anything that can not answer (control store, policy provider, decision store) makes the activity fail, and the
/// workflow fails the step closed. The decision the step will act under is appended to the run's audit chain before the
/// gate answers, so the act activity can require it there too (write-ahead); an audit store that can not answer fails
/// the gate like any other store. A step a language model proposed that the policy forbids is recorded as drift
/// (<see cref="DriftKinds.ToolForbidden"/>), once per step; a kill switch or quarantine is the operators', not the model's.
/// </summary>
public sealed class GateActivity(IPolicyProvider policies, ToolRegistry tools, IDecisionStore decisions, IControlStore controls, AuditLog audit, TimeProvider clock,
    IEnumerable<IToolGuard>? guards = null, IDriftStore? drift = null) : Activity<GateInput, GateDecision>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Gate;

    /// <inheritdoc />
    protected override async Task<GateDecision> RunAsync(GateInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        // A step is decided once. Executed again (a redelivery, a retry after the record was written, a host that
        // died before answering), the gate answers the stored decision: it never re-evaluates under whatever policy
        // is active now, and never replaces what the step may already have acted under.
        if (await decisions.GetDecisionAsync(input.RunId, input.StepId, cancellationToken) is { } stored)
        {
            // The stored decision covers one tool and one argument digest; a step that now asks for anything else is
            // not what was decided, and fails closed rather than borrowing that decision.
            return stored.Tool == input.Tool && stored.ArgsDigest == input.ArgsDigest
                ? await DriftAsync(await AuditedAsync(stored, input, cancellationToken), input, cancellationToken)
                : throw new NonRetryableException($"Step {input.StepId} was decided for {stored.Tool} with arguments {stored.ArgsDigest}; it now asks for {input.Tool} with {input.ArgsDigest}.");
        }
        var known = tools.TryResolve(input.Tool, out var tool);
        var active = await controls.GetActiveAsync(input.Agent, input.Tool, cancellationToken);
        if (Controls.Decide(active, input, known ? tool.Descriptor.Version : "unknown", clock.GetUtcNow()) is { } stopped)
        {
            var first = await decisions.RecordDecisionAsync(stopped, cancellationToken);
            if (first == stopped && active is [var control, ..])
            {
                await audit.AppendAsync(input.RunId, AuditEntries.ControlApplied(input.StepId, input.Tool, control.Rule, control.EngagedBy, "gate", stopped.DecidedAt), AuditConflict.Amend, cancellationToken);
            }
            return Telemetry.AgenticTelemetry.Decided(input, await AuditedAsync(first, input, cancellationToken));
        }
        // A guard's refusal (an MCP tool not pinned, or announced otherwise than pinned) is a forbid by policy `controls`,
        // like a kill switch. A guard may also bring the tool's contract up to date, so the tool is resolved again.
        if (known && await ToolGuards.CheckAsync(guards, tools, tool, cancellationToken) is { } refusal)
        {
            var refused = new GateDecision(input.RunId, input.StepId, input.Tool, tool.Descriptor.Version, input.ArgsDigest, GateEffect.Forbid,
                Controls.PolicyId, refusal.Version, refusal.Rule, refusal.Reason, null, clock.GetUtcNow())
            {
                Autonomy = input.Autonomy,
                ToolHash = tools.HashOf(input.Tool),
            };
            return Telemetry.AgenticTelemetry.Decided(input, await AuditedAsync(await decisions.RecordDecisionAsync(refused, cancellationToken), input, cancellationToken));
        }
        known = tools.TryResolve(input.Tool, out tool);
        var current = await policies.GetAsync(cancellationToken);
        var policy = current.Enforced;
        var now = clock.GetUtcNow();
        GateDecision decision;
        if (!known)
        {
            decision = Refuse(input, "unknown", "unknown-tool", $"No tool named '{input.Tool}' is registered.");
        }
        else if (input.Arguments.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            decision = Refuse(input, tool.Descriptor.Version, "invalid-arguments", $"Arguments of {input.Tool} must be a JSON object, not {input.Arguments.ValueKind}.") with { ToolHash = tools.HashOf(input.Tool) };
        }
        else if (tools.ValidateArguments(input.Tool, input.Arguments) is { Count: > 0 } violations)
        {
            // A schema violation is refused before the policy sees it: rules may rely on the argument types.
            decision = Refuse(input, tool.Descriptor.Version, "invalid-arguments", $"Arguments of {input.Tool} violate its input schema: {string.Join("; ", violations)}.") with { ToolHash = tools.HashOf(input.Tool) };
        }
        else if (tool.Descriptor.AssessmentSchema is null)
        {
            decision = PolicyGate.Decide(current, input, tool.Descriptor, now, tools.HashOf(input.Tool));
        }
        else
        {
            decision = await AssessedAsync(input, tool, cancellationToken) switch
            {
                ({ } problem, _) => Refuse(input, tool.Descriptor.Version, "invalid-assessment", problem) with { ToolHash = tools.HashOf(input.Tool) },
                (null, var assessment) => PolicyGate.Decide(current, input, tool.Descriptor, now, tools.HashOf(input.Tool), assessment),
            };
        }
        // Another attempt may have stored its decision meanwhile: the first stored is the step's decision.
        var recorded = await AuditedAsync(await decisions.RecordDecisionAsync(decision, cancellationToken), input, cancellationToken);
        return Telemetry.AgenticTelemetry.Decided(input, await DriftAsync(recorded, input, cancellationToken));

        GateDecision Refuse(GateInput step, string toolVersion, string rule, string reason) =>
            new(step.RunId, step.StepId, step.Tool, toolVersion, step.ArgsDigest, GateEffect.Forbid, policy.Id, policy.Version, rule, reason, null, now, policy.ContentHash)
            {
                Autonomy = step.Autonomy,
            };
    }

    // A model's step the policy forbade, keyed by the step's gate command so a repeated gate counts it once.
    private async Task<GateDecision> DriftAsync(GateDecision decision, GateInput input, CancellationToken cancellationToken)
    {
        if (input.Origin is { IsModel: true } origin && !input.Compensation && decision.Effect == GateEffect.Forbid
            && !string.Equals(decision.PolicyId, Controls.PolicyId, StringComparison.Ordinal))
        {
            await DriftRecorder.RecordAsync(drift,
            [
                new DriftEvent(input.Agent, input.RunId, AgentWorkflow.Ids.Gate(input.StepId), DriftKinds.ToolForbidden, decision.DecidedAt, origin)
                {
                    StepId = input.StepId,
                    Tool = input.Tool,
                    Reason = $"Forbidden by {decision.PolicyId}@{decision.PolicyVersion} rule '{decision.Rule}': {decision.Reason}",
                },
            ], cancellationToken);
        }
        return decision;
    }

    // An assessed tool's service says what the call would mean before the policy decides on it: a service that can not
    // answer fails the gate (retried, then closed); an answer that is refused, or breaks the tool's assessment schema, is a
    // forbid naming why, since the policy would be deciding on something the contract does not describe.
    private async Task<(string? Refusal, System.Text.Json.JsonElement Assessment)> AssessedAsync(GateInput input, ITool tool, CancellationToken cancellationToken)
    {
        var call = new ToolCall(input.RunId, input.StepId, input.Target ?? "", input.Arguments, $"{input.RunId}/{input.StepId}") { Agent = input.Agent };
        System.Text.Json.JsonElement assessment;
        try
        {
            assessment = await ((IAssessingTool)tool).AssessAsync(call, cancellationToken);
        }
        catch (ToolException ex) when (!ex.Retryable)
        {
            return ($"{input.Tool} could not be assessed: {ex.Message}", default);
        }
        if (assessment.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return ($"The assessment of {input.Tool} is not a JSON object but {assessment.ValueKind}.", default);
        }
        return tools.ValidateAssessment(input.Tool, assessment) is { Count: > 0 } violations
            ? ($"The assessment of {input.Tool} violates its assessment schema: {string.Join("; ", violations)}.", default)
            : (null, assessment);
    }

    // The step's decision in the run's audit chain: written once, found again by a repeated gate.
    private async Task<GateDecision> AuditedAsync(GateDecision decision, GateInput input, CancellationToken cancellationToken)
    {
        await audit.AppendAsync(decision.RunId, AuditEntries.Decided(decision, input.Compensation), AuditConflict.Refuse, cancellationToken);
        return decision;
    }
}
