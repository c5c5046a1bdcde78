using System.Diagnostics.Metrics;
using Agentic.Core.Telemetry;

namespace Agentic.Core.Planning;

/// <summary>
/// Drift signals of language model planning, per agent and prompt version: answers refused (and why, by kind), tools
/// proposed that were not offered, and calls held back by the token rate limit.
/// </summary>
internal static class PlanningMetrics
{
    private static readonly Counter<long> Refused = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.refused", "{answer}", "Model answers refused as plans, by kind of problem.");
    private static readonly Counter<long> NotOfferedTools = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.not_offered", "{step}", "Steps proposing a tool the model was not offered.");
    private static readonly Counter<long> Limited = AgenticTelemetry.Meter.CreateCounter<long>("agentic.plan.rate_limited", "{call}", "Model calls held back by an agent's token rate limit.");

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

    public static void RateLimited(string agent) => Limited.Add(1, new KeyValuePair<string, object?>(AgenticTelemetry.Attr.AgentName, agent));
}
