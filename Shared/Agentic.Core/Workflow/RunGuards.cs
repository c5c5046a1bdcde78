namespace Agentic.Core.Workflow;

/// <summary>
/// Limits on one run. Each member left <c>null</c> falls back to the deployment's default
/// (<see cref="AgentWorkflowOptions"/>); an agent sets its own overrides in its definition.
/// A tripped guard ends the run with its reason recorded; it never loops silently.
/// </summary>
public sealed record RunGuards
{
    /// <summary>Most steps one plan may have.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Most tool calls the run may make, counting failed calls and compensations.</summary>
    public int? MaxToolCalls { get; init; }

    /// <summary>Most cost units the run may spend (each call costs its tool's <c>Cost</c>).</summary>
    public double? Budget { get; init; }

    /// <summary>Most times the run may call the same tool with the same arguments.</summary>
    public int? MaxIdenticalCalls { get; init; }

    /// <summary>Most plans the run may make: after the first, a failed post-condition check asks for a new plan.</summary>
    public int? MaxPlans { get; init; }

    /// <summary>The run's wall-clock limit when the request does not give one.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>These guards with every unset member taken from <paramref name="defaults"/>.</summary>
    public RunGuards Over(RunGuards defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return new()
        {
            MaxSteps = MaxSteps ?? defaults.MaxSteps,
            MaxToolCalls = MaxToolCalls ?? defaults.MaxToolCalls,
            Budget = Budget ?? defaults.Budget,
            MaxIdenticalCalls = MaxIdenticalCalls ?? defaults.MaxIdenticalCalls,
            MaxPlans = MaxPlans ?? defaults.MaxPlans,
            Deadline = Deadline ?? defaults.Deadline,
        };
    }
}
