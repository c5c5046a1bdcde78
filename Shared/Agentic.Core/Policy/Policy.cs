using Agentic.Core.Agents;
using Agentic.Core.Tools;

namespace Agentic.Core.Policy;

/// <summary>What a policy answers for one request: the effect and the rule that decided it.</summary>
public sealed record PolicyResult(GateEffect Effect, string Rule, string Reason, string? ApproverRole = null);

/// <summary>A policy the gate evaluates. Implementations must be deterministic for a given input.</summary>
public interface IPolicy
{
    /// <summary>The policy's id, recorded in every decision.</summary>
    string Id { get; }

    /// <summary>The policy's version, recorded in every decision.</summary>
    string Version { get; }

    /// <summary>Evaluates one step. Default deny: a policy with no matching rule forbids.</summary>
    PolicyResult Evaluate(GateInput request, ToolDescriptor tool);
}

/// <summary>
/// The baseline policy: read-only tools are permitted, high- and critical-risk tools need an
/// operator's approval, everything else is forbidden (default deny).
/// </summary>
public sealed class BaselinePolicy : IPolicy
{
    /// <summary>The role whose members may approve high-risk actions.</summary>
    public const string ApproverRole = "operator";

    /// <inheritdoc />
    public string Id => "baseline";

    /// <inheritdoc />
    public string Version => "1";

    /// <inheritdoc />
    public PolicyResult Evaluate(GateInput request, ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        if (tool.SideEffect == SideEffect.ReadOnly)
        {
            return new(GateEffect.Permit, "permit-read-only", $"{tool.Name} only reads.");
        }
        if (tool.Risk is RiskLevel.High or RiskLevel.Critical)
        {
            return new(GateEffect.RequireApproval, "approve-high-risk", $"{tool.Name} is {tool.Risk.ToString().ToLowerInvariant()} risk and changes state.", ApproverRole);
        }
        return new(GateEffect.Forbid, "default-deny", $"No rule permits {tool.Name} ({tool.Risk.ToString().ToLowerInvariant()} risk, {tool.SideEffect.ToString().ToLowerInvariant()}).");
    }
}
