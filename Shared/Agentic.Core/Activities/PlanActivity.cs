using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Audit;
using Agentic.Core.Json;
using Agentic.Core.Planning;
using Agentic.Core.Policy;
using Agentic.Core.Tools;

namespace Agentic.Core.Activities;

/// <summary>
/// Turns an observation into a plan with the agent's planner, refuses a plan that names a tool the agent may not
/// propose, stamps the plan with the agent definition's version and hash, and records it in the run's audit chain.
/// A playbook agent plans in code. A language model agent (<see cref="AgentDefinition.Llm"/>) is offered only the tools
/// it lists that the enforced policy could permit for this principal, environment and target
/// (<see cref="PolicyGate.Offer"/>); reads the observation, the goal and the parameters as delimited data (each source
/// it does not trust taints the plan); and plans through <see cref="LlmPlanner"/> within the run's remaining budget and
/// step guard. The plan record names the model, the prompt template's id, version and hash, what was offered and why
/// the rest was not, the tokens and cost, and the taint.
/// </summary>
public sealed class PlanActivity(
    IAgentCatalogProvider agents,
    AuditLog audit,
    TimeProvider clock,
    LlmPlanner? planner = null,
    PromptTemplates? prompts = null,
    IPolicyProvider? policies = null,
    ToolRegistry? tools = null,
    IEnumerable<IToolGuard>? guards = null) : Activity<PlanInput, Plan>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Plan;

    /// <inheritdoc />
    protected override async Task<Plan> RunAsync(PlanInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        // The version the run was admitted with plans, whatever is activated since.
        var agent = await agents.ForRunAsync(input.Agent, input.AgentVersion, input.AgentHash, cancellationToken)
            ?? throw new NonRetryableException($"Unknown agent '{input.Agent}'.");
        var plan = agent.Llm is { } llm ? await PlanWithModelAsync(agent, llm, input, cancellationToken) : agent.Planner(input);
        if (agent.Tools is { } allowed && plan.Steps.FirstOrDefault(s => !allowed.Contains(s.Tool, StringComparer.Ordinal)) is { } stray)
        {
            throw new NonRetryableException($"Agent '{agent.Name}' planned step '{stray.StepId}' with tool '{stray.Tool}', which is not among the tools it may propose ({string.Join(", ", allowed)}).");
        }
        plan = plan with { AgentVersion = agent.Version, AgentHash = agent.Hash };
        // A playbook names its version in the planner ("playbook:diagnostics@1"); a model's plan names its prompt's.
        await audit.AppendAsync(input.RunId, AuditEntries.Planned(context.CommandId, input, plan, plannerVersion: plan.Model?.PromptVersion, clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
        return plan;
    }

    private async Task<Plan> PlanWithModelAsync(AgentDefinition agent, LlmSettings llm, PlanInput input, CancellationToken cancellationToken)
    {
        if (planner is null || prompts is null || policies is null || tools is null)
        {
            throw new NonRetryableException($"Agent '{agent.Name}' plans with a language model, and this host has no language model planner.");
        }
        var data = Data(input, llm.Trust);
        var untrusted = data.Where(d => !d.Trusted).Select(d => d.Source).Distinct(StringComparer.Ordinal).ToList();
        var listed = new List<ToolDescriptor>();
        var refused = new List<ToolOffer>();
        foreach (var name in agent.Tools ?? [])
        {
            if (!tools.TryResolve(name, out var tool))
            {
                continue;
            }
            // A tool the gate would refuse whatever the policy says (an MCP tool not pinned, or changed) is not offered.
            if (await ToolGuards.CheckAsync(guards, tools, tool, cancellationToken) is { } refusal)
            {
                refused.Add(new ToolOffer(name, tool.Descriptor.Version, false, refusal.Reason, refusal.Rule));
                continue;
            }
            listed.Add(tool.Descriptor);
        }
        var offers = PolicyGate.Offer(await policies.GetAsync(cancellationToken),
            new OfferContext(input.Principal ?? "", input.PrincipalRoles ?? [], agent.Name, input.Autonomy ?? agent.Autonomy, input.Environment ?? "", input.Target)
            {
                Tainted = untrusted.Count > 0,
                TaintSources = untrusted,
            },
            listed).Concat(refused).ToList();
        var offered = listed.Where(t => offers.Any(o => o.Offered && o.Tool == t.Name)).ToList();
        var request = new LlmPlanRequest(input.RunId, agent.Name, agent.Description, input.Target, llm.Model, prompts.Get(llm.Prompt), offered, data,
            input.MaxSteps ?? 10, input.BudgetRemaining ?? double.MaxValue);
        try
        {
            var (plan, usage) = await planner.PlanAsync(request, cancellationToken);
            return plan with { Model = usage, Offers = offers };
        }
        catch (PlanningException ex)
        {
            throw new NonRetryableException(ex.Message, ex);
        }
    }

    // What the model reads, each item with its source; a source is trusted only when the agent says so.
    private static List<PlanningData> Data(PlanInput input, IReadOnlyList<string> trust)
    {
        bool Trusted(string kind) => trust.Contains(kind, StringComparer.Ordinal);
        var data = new List<PlanningData>();
        if (!string.IsNullOrWhiteSpace(input.Goal))
        {
            data.Add(new PlanningData("request.goal", JsonSerializer.SerializeToElement(input.Goal), Trusted("request.goal")));
        }
        if (input.Parameters is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } parameters)
        {
            data.Add(new PlanningData("request.parameters", parameters, Trusted("request.parameters")));
        }
        var observation = input.Observation;
        data.Add(new PlanningData("observation:" + observation.Source,
            AgenticJson.ToElement(new { observation.Status, observation.Healthy, observation.Details }), Trusted("observation")));
        return data;
    }
}
