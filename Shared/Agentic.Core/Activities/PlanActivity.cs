using System.Text.Json;
using System.Text.Json.Nodes;
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
/// (<see cref="PolicyGate.Offer"/>); reads each signal's reading (as <c>signal:{name}</c>, trusted only when the signal
/// says so) and what of the goal and the parameters no signal reads (trusted as <c>llm.trust</c> says) as delimited data,
/// each untrusted source tainting the plan; and plans through <see cref="LlmPlanner"/> within the run's remaining budget and
/// step guard. The plan record names the model, the prompt template's id, version and hash, what was offered and why
/// the rest was not, the tokens and cost, and the taint. A model asked again after each action also reads what every
/// step so far did (<see cref="PlanInput.History"/>), as untrusted data: a tool's output is outside content.
/// Each plan round is counted in the drift store (the rates' denominator), with the model's refused answers and the
/// tools it proposed that it was not offered, once per round however often the activity runs.
/// </summary>
public sealed class PlanActivity(
    IAgentCatalogProvider agents,
    AuditLog audit,
    TimeProvider clock,
    LlmPlanner? planner = null,
    PromptTemplates? prompts = null,
    IPolicyProvider? policies = null,
    ToolRegistry? tools = null,
    IEnumerable<IToolGuard>? guards = null,
    IDriftStore? drift = null) : Activity<PlanInput, Plan>
{
    /// <inheritdoc />
    public override string Name => AgentActivities.Plan;

    /// <inheritdoc />
    protected override async Task<Plan> RunAsync(PlanInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        // The version the run was admitted with plans, whatever is activated since.
        var agent = await agents.ForRunAsync(input.Agent, input.AgentVersion, input.AgentHash, cancellationToken)
            ?? throw new NonRetryableException($"Unknown agent '{input.Agent}'.");
        var plan = agent.Llm is { } llm ? await PlanWithModelAsync(agent, llm, input, context, cancellationToken) : agent.Planner(input);
        if (agent.Tools is { } allowed && plan.Steps.FirstOrDefault(s => !allowed.Contains(s.Tool, StringComparer.Ordinal)) is { } stray)
        {
            throw new NonRetryableException($"Agent '{agent.Name}' planned step '{stray.StepId}' with tool '{stray.Tool}', which is not among the tools it may propose ({string.Join(", ", allowed)}).");
        }
        plan = plan with { AgentVersion = agent.Version, AgentHash = agent.Hash };
        if (agent.Llm is null)
        {
            await DriftRecorder.RecordAsync(drift, [Round(input, context, PlanOrigin.Of(plan), clock.GetUtcNow())], cancellationToken);
        }
        // A playbook names its version in the planner ("playbook:diagnostics@1"); a model's plan names its prompt's.
        await audit.AppendAsync(input.RunId, AuditEntries.Planned(context.CommandId, input, plan, plannerVersion: plan.Model?.PromptVersion, clock.GetUtcNow()), AuditConflict.Amend, cancellationToken);
        return plan;
    }

    private async Task<Plan> PlanWithModelAsync(AgentDefinition agent, LlmSettings llm, PlanInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        if (planner is null || prompts is null || policies is null || tools is null)
        {
            throw new NonRetryableException($"Agent '{agent.Name}' plans with a language model, and this host has no language model planner.");
        }
        var data = Data(input, agent, llm.Trust);
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
            input.MaxSteps ?? 10, input.BudgetRemaining ?? double.MaxValue)
        {
            StepByStep = input.History is not null,
        };
        try
        {
            var (plan, usage) = await planner.PlanAsync(request, cancellationToken);
            await DriftRecorder.RecordAsync(drift, ModelDrift(input, context, PlanOrigin.Of(usage, agent.Version), usage), cancellationToken);
            return plan with { Model = usage, Offers = offers };
        }
        catch (PlanningException ex)
        {
            if (ex.Usage is { } usage)
            {
                await DriftRecorder.RecordAsync(drift, ModelDrift(input, context, PlanOrigin.Of(usage, agent.Version), usage), cancellationToken);
            }
            throw new NonRetryableException(ex.Message, ex);
        }
    }

    // Keyed by the plan's command (plan, plan.2, ...): a redelivered plan activity counts its round once.
    private static DriftEvent Round(PlanInput input, ActivityContext context, PlanOrigin origin, DateTimeOffset at) =>
        new(input.Agent, input.RunId, context.CommandId, DriftKinds.Plan, at, origin);

    private IEnumerable<DriftEvent> ModelDrift(PlanInput input, ActivityContext context, PlanOrigin origin, ModelPlanning usage)
    {
        var at = clock.GetUtcNow();
        yield return Round(input, context, origin, at);
        if (usage.Rejected.Count > 0)
        {
            yield return new DriftEvent(input.Agent, input.RunId, context.CommandId, DriftKinds.PlanInvalid, at, origin)
            {
                Reason = $"{usage.Rejected.Count} answer(s) refused: {string.Join(" | ", usage.Rejected)}",
            };
        }
        if (usage.NotOffered is [var first, ..] notOffered)
        {
            yield return new DriftEvent(input.Agent, input.RunId, context.CommandId, DriftKinds.ToolNotOffered, at, origin)
            {
                Tool = first,
                Reason = $"Proposed {string.Join(", ", notOffered.Select(t => $"'{t}'"))}; offered {(usage.Offered.Count == 0 ? "nothing" : string.Join(", ", usage.Offered))}.",
            };
        }
    }

    // What the model reads, each item with its source: every signal's reading (trusted only where the signal says so),
    // then what of the request no signal reads (trusted only where llm.trust says so). A reading that broke its contract
    // is not read at all.
    private static List<PlanningData> Data(PlanInput input, AgentDefinition agent, IReadOnlyList<string> trust)
    {
        bool Trusted(string kind) => trust.Contains(kind, StringComparer.Ordinal);
        var data = new List<PlanningData>();
        var observation = input.Observation;
        if (observation.Signals is { } readings)
        {
            for (var i = 0; i < readings.Count; i++)
            {
                if (readings[i] is not { Violated: false, Value: { } value } reading)
                {
                    continue;
                }
                // The primary probe's JSON answer is the observation's details; the model reads it with the probe's reading.
                var content = value;
                if (i == 0 && reading.Kind == HttpProbeSource.KindName && JsonSerializer.SerializeToNode(value) is JsonObject probe)
                {
                    probe["details"] = JsonSerializer.SerializeToNode(observation.Details);
                    content = JsonSerializer.SerializeToElement(probe);
                }
                data.Add(new PlanningData("signal:" + reading.Name, content, reading.Trusted));
            }
        }
        else
        {
            // An observation made before signals had readings: read whole, and untrusted.
            data.Add(new PlanningData("observation:" + observation.Source, AgenticJson.ToElement(new { observation.Status, observation.Healthy, observation.Details })));
        }
        var read = agent.Signals.OfType<RequestSource>().Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(input.Goal) && !read.Contains("goal"))
        {
            data.Add(new PlanningData(AgentLoader.RequestGoal, JsonSerializer.SerializeToElement(input.Goal), Trusted(AgentLoader.RequestGoal)));
        }
        if (input.Parameters is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } parameters && !read.Contains("parameters")
            && Unread(parameters, read) is { } rest)
        {
            data.Add(new PlanningData(AgentLoader.RequestParameters, rest, Trusted(AgentLoader.RequestParameters)));
        }
        // What the run's steps did is never trusted, whatever the agent trusts: a tool's output is what the tool read.
        foreach (var step in input.History ?? [])
        {
            data.Add(new PlanningData("outcome:" + step.StepId, AgenticJson.ToElement(new
            {
                step = step.StepId,
                step.Tool,
                step.ArgsDigest,
                step.Status,
                step.Summary,
                step.Output,
                step.OutputDigest,
                step.OutputOmittedChars,
            })));
        }
        return data;
    }

    // The parameters without the members request signals read (parameters.x.y); null when nothing is left.
    private static JsonElement? Unread(JsonElement parameters, HashSet<string> read)
    {
        var paths = read.Where(p => p.StartsWith("parameters.", StringComparison.Ordinal)).ToList();
        if (paths.Count == 0 || parameters.ValueKind != JsonValueKind.Object)
        {
            return parameters;
        }
        var root = JsonNode.Parse(parameters.GetRawText())!.AsObject();
        foreach (var path in paths)
        {
            var names = path.Split('.')[1..];
            var parent = names[..^1].Aggregate((JsonNode?)root, (node, name) => node is JsonObject o ? o[name] : null);
            (parent as JsonObject)?.Remove(names[^1]);
        }
        return root.Count == 0 ? null : JsonSerializer.SerializeToElement(root);
    }
}
