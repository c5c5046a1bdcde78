using System.Globalization;
using System.Text.Json;
using Agentic.Core.Json;

namespace Agentic.Core.Agents;

/// <summary>An agent the deployment offers: a name, what it is for, and its deterministic playbook.</summary>
/// <param name="Name">The agent's name in run requests.</param>
/// <param name="Description">What the agent is for.</param>
/// <param name="Playbook">Turns an observation into a plan. Must be deterministic.</param>
public sealed record AgentDefinition(string Name, string Description, Func<PlanInput, Plan> Playbook)
{
    /// <summary>The most autonomy the agent runs with (see <see cref="Agents.Autonomy"/>); a request may ask for less.</summary>
    public string Autonomy { get; init; } = Agents.Autonomy.Supervised;

    /// <summary>The agent's own limits over the deployment's defaults.</summary>
    public Workflow.RunGuards? Guards { get; init; }

    /// <summary>
    /// The targets the agent may run against, narrowing the deployment's (<c>Agentic:Targets:Allow</c>): a target must
    /// match a deployment rule and one of these, and may resolve to a private address only when both allow it.
    /// <c>null</c>: every target the deployment allows.
    /// </summary>
    public IReadOnlyList<Tools.Builtin.EndpointRule>? Targets { get; init; }
}

/// <summary>The agents a deployment offers, by name.</summary>
public sealed class AgentCatalog
{
    private readonly Dictionary<string, AgentDefinition> _agents;

    /// <summary>A catalog over <paramref name="agents"/>.</summary>
    public AgentCatalog(IEnumerable<AgentDefinition> agents)
    {
        _agents = agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (_agents.Values.FirstOrDefault(a => !Autonomy.IsKnown(a.Autonomy)) is { } bad)
        {
            throw new ArgumentException($"Agent '{bad.Name}' has autonomy '{bad.Autonomy}'; known levels: {string.Join(", ", Autonomy.Levels)}.", nameof(agents));
        }
        var problems = new List<string>();
        foreach (var agent in _agents.Values.Where(a => a.Targets is not null))
        {
            for (var i = 0; i < agent.Targets!.Count; i++)
            {
                agent.Targets[i].Validate(string.Create(CultureInfo.InvariantCulture, $"agent '{agent.Name}' Targets:{i}"), problems);
            }
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException("Agent target rules are not valid: " + string.Join(" ", problems), nameof(agents));
        }
    }

    /// <summary>The agents that ship with the product.</summary>
    public static AgentCatalog Default { get; } = new(
    [
        new("service-healer", "Probes a service; when it is unhealthy, gathers diagnostics and restarts it (with an operator's approval), then verifies it recovered.", Playbooks.ServiceHealer),
        new("diagnostics", "Gathers diagnostics from a service N times (parameters.probes, default 3): read-only.", Playbooks.Diagnostics)
        {
            Autonomy = Autonomy.Autonomous,
        },
        new("scaler", "Scales a service to parameters.replicas (default 3).", Playbooks.Scaler),
    ]);

    /// <summary>The agents' names.</summary>
    public IEnumerable<string> Names => _agents.Keys.Order(StringComparer.Ordinal);

    /// <summary>Every agent, by name.</summary>
    public IEnumerable<AgentDefinition> Agents => _agents.Values.OrderBy(a => a.Name, StringComparer.Ordinal);

    /// <summary>Whether an agent called <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _agents.ContainsKey(name);

    /// <summary>The agent called <paramref name="name"/>.</summary>
    public AgentDefinition Get(string name) =>
        _agents.TryGetValue(name, out var agent) ? agent : throw new KeyNotFoundException($"Unknown agent '{name}'.");
}

internal static class Playbooks
{
    private const string Version = "1";

    public static Plan ServiceHealer(PlanInput input)
    {
        var planner = $"playbook:service-healer@{Version}";
        if (input.Observation.Healthy)
        {
            return new(planner, [], ExpectHealthy: false, $"The target is {input.Observation.Status}; no action needed.");
        }
        return new(planner,
        [
            new("s1", "sample.diagnostics", Empty(), "Collect diagnostics before changing anything, so the restart is justified and the evidence is kept."),
            new("s2", "sample.restart", AgenticJson.ToElement(new { reason = $"health probe reported {input.Observation.Status}" }), $"The service reports {input.Observation.Status}; a restart is the runbook's first remedy."),
        ], ExpectHealthy: true, $"The target is {input.Observation.Status}: diagnose, restart, verify.");
    }

    public static Plan Diagnostics(PlanInput input)
    {
        var probes = Int(input.Parameters, "probes", 3, 1, 50);
        var steps = Enumerable.Range(1, probes)
            .Select(i => new PlanStep("s" + i.ToString(CultureInfo.InvariantCulture), "sample.diagnostics", AgenticJson.ToElement(new { probe = i }), $"Diagnostics sample {i} of {probes}."))
            .ToList();
        return new($"playbook:diagnostics@{Version}", steps, ExpectHealthy: false, $"Collect {probes} diagnostics sample(s).");
    }

    public static Plan Scaler(PlanInput input)
    {
        var replicas = Int(input.Parameters, "replicas", 3, 0, 100);
        return new($"playbook:scaler@{Version}",
            [new("s1", "sample.scale", AgenticJson.ToElement(new { replicas }), $"Scale to {replicas} replica(s) as requested.")],
            ExpectHealthy: false, $"Scale to {replicas}.");
    }

    private static JsonElement Empty() => AgenticJson.ToElement(new { });

    private static int Int(JsonElement? parameters, string name, int fallback, int min, int max) =>
        parameters is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n)
            ? Math.Clamp(n, min, max)
            : fallback;
}
