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
public sealed class GateActivity(IPolicy policy, ToolRegistry tools, IDecisionStore decisions, TimeProvider clock) : Activity<GateInput, GateDecision>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Gate;

    /// <inheritdoc />
    protected override async Task<GateDecision> RunAsync(GateInput input, ActivityContext context, CancellationToken cancellationToken)
    {
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
