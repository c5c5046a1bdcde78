using Agentic.Core.Agents;
using Agentic.Core.Tests.Runs;
using Agentic.Core.Tools;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tests.Agents;

/// <summary>Agent documents and a deployment's checks for the agent lifecycle tests.</summary>
internal static class AgentFixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 3, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A playbook agent with one step of <paramref name="tool"/>; <paramref name="targets"/> is a YAML flow list of target rules.</summary>
    public static string Agent(string name, string version, string tool = "sample.diagnostics", string? targets = null, string description = "Gathers diagnostics.") =>
        $"name: {name}\n"
        + $"version: \"{version}\"\n"
        + $"description: {description}\n"
        + "autonomy: autonomous\n"
        + $"tools: [{tool}]\n"
        + (targets is null ? "" : $"targets: {targets}\n")
        + "playbook:\n"
        + "  rules:\n"
        + "    - rationale: Collect diagnostics.\n"
        + "      steps:\n"
        + $"        - tool: {tool}\n"
        + "          rationale: One sample.\n";

    /// <summary>The checks of a deployment with the sample tools and no language model.</summary>
    public static AgentChecks Checks { get; } = new(new ToolRegistry(SampleServiceTools.Create(Admissions.Default.Targets, new EgressClient())));

    /// <summary>The shipped catalog the tests start from: the product's own agents.</summary>
    public static AgentCatalog Shipped => AgentCatalog.Default;
}
