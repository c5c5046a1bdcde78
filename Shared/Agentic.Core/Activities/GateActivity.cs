using Agentic.Core.Agents;
using Agentic.Core.Governance;
using Agentic.Core.Policy;
using Agentic.Core.Tools;

namespace Agentic.Core.Activities;

/// <summary>
/// Evaluates the policy for one step and stores the decision before answering, so the act activity
/// can prove a decision exists for the exact arguments. If the decision can not be stored the
/// activity fails, and the workflow fails closed.
/// </summary>
public sealed class GateActivity(IPolicy policy, ToolRegistry tools, IDecisionStore decisions, IControlStore controls, TimeProvider clock) : Activity<GateInput, GateDecision>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Gate;

    /// <inheritdoc />
    protected override async Task<GateDecision> RunAsync(GateInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        // Kill switches and quarantines come before the policy. If the control store can not answer, this
        // throws and the workflow fails the run closed.
        var active = await controls.GetActiveAsync(input.Agent, input.Tool, cancellationToken);
        if (Controls.Decide(active, input, tools.TryResolve(input.Tool, out var controlled) ? controlled.Descriptor.Version : "unknown", clock.GetUtcNow()) is { } stopped)
        {
            await decisions.RecordDecisionAsync(stopped, cancellationToken);
            return stopped;
        }
        GateDecision decision;
        if (!tools.TryResolve(input.Tool, out var tool))
        {
            decision = new(input.RunId, input.StepId, input.Tool, "unknown", input.ArgsDigest, GateEffect.Forbid,
                policy.Id, policy.Version, "unknown-tool", $"No tool named '{input.Tool}' is registered.", null, clock.GetUtcNow(), policy.ContentHash);
        }
        else if (input.Arguments.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            decision = new(input.RunId, input.StepId, input.Tool, tool.Descriptor.Version, input.ArgsDigest, GateEffect.Forbid,
                policy.Id, policy.Version, "invalid-arguments", $"Arguments of {input.Tool} must be a JSON object, not {input.Arguments.ValueKind}.", null, clock.GetUtcNow(), policy.ContentHash);
        }
        else if (tools.ValidateArguments(input.Tool, input.Arguments) is { Count: > 0 } violations)
        {
            // A schema violation is refused before the policy sees it: rules may rely on the argument types.
            decision = new(input.RunId, input.StepId, input.Tool, tool.Descriptor.Version, input.ArgsDigest, GateEffect.Forbid,
                policy.Id, policy.Version, "invalid-arguments", $"Arguments of {input.Tool} violate its input schema: {string.Join("; ", violations)}.", null, clock.GetUtcNow(), policy.ContentHash);
        }
        else
        {
            var result = policy.Evaluate(input, tool.Descriptor);
            decision = new(input.RunId, input.StepId, input.Tool, tool.Descriptor.Version, input.ArgsDigest, result.Effect,
                policy.Id, policy.Version, result.Rule, result.Reason, result.ApproverRole, clock.GetUtcNow(), policy.ContentHash);
        }
        await decisions.RecordDecisionAsync(decision, cancellationToken);
        return decision;
    }
}
