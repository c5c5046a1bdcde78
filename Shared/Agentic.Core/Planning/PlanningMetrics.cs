using System.Diagnostics.Metrics;
using Agentic.Core.Telemetry;

namespace Agentic.Core.Planning;

/// <summary>
/// Drift signals of planning. Per agent and prompt version: answers refused (and why, by kind), tools proposed that were
/// not offered, and calls held back by the token rate limit, counted as they happen. And every kind of
/// <see cref="DriftKinds"/> (plan rounds with refused answers or tools not offered, forbidden steps, rejections, approval
/// timeouts, failed post-conditions) per agent, planner, prompt or playbook version and model, counted once when it is
/// first recorded in the drift store (<c>agentic.drift.events</c>), so redelivered activities count nothing twice.
/// </summary>
internal static class PlanningMetrics
{
    private static readonly Counter<long> Refused = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.refused", "{answer}", "Model answers refused as plans, by kind of problem.");
    private static readonly Counter<long> NotOfferedTools = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.not_offered", "{step}", "Steps proposing a tool the model was not offered.");
    private static readonly Counter<long> Limited = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.rate_limited", "{call}", "Model calls held back by an agent's token rate limit.");
    private static readonly Counter<long> DriftEvents = AgenticTelemetry.Meter.CreateCounter<long>("agentic.drift.events", "{event}", "Planning drift events, by kind, agent, planner and model.");

    public static void Rejected(string agent, PromptTemplate template, IReadOnlyList<string> problems)
    {
        var kind = problems.Any(p => p.Contains("not JSON", StringComparison.Ordinal)) ? "json"
            : problems.Any(p => p.Contains("not one of the offered tools", StringComparison.Ordinal)) ? "tool"
            : problems.Any(p => p.Contains("input schema", StringComparison.Ordinal)) ? "arguments"
            : "shape";
        Refused.Add(1, new(AgenticTelemetry.Attr.AgentName, agent), new("agentic.prompt.id", template.Id), new("agentic.prompt.version", template.Version), new("agentic.plan.problem", kind));
    }

    public static void NotOffered(string agent, PromptTemplate template, string tool) =>
        NotOfferedTools.Add(1, new(AgenticTelemetry.Attr.AgentName, agent), new("agentic.prompt.id", template.Id), new("agentic.prompt.version", template.Version));

    public static void Drift(DriftEvent drift)
    {
        var origin = drift.Origin;
        DriftEvents.Add(1,
        [
            new("agentic.drift.kind", drift.Kind),
            new(AgenticTelemetry.Attr.AgentName, drift.Agent),
            new("agentic.planner.kind", origin.PlannerKind),
            new("agentic.planner", origin.Planner),
            new("agentic.prompt.id", origin.PromptId),
            new("agentic.prompt.version", origin.PromptVersion),
            new("agentic.agent.version", origin.AgentVersion),
            new("gen_ai.request.model", origin.Model),
        ]);
    }

    public static void RateLimited(string agent) => Limited.Add(1, new KeyValuePair<string, object?>(AgenticTelemetry.Attr.AgentName, agent));
}
