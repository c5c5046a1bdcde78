using Agentic.Core.Agents;

namespace Agentic.Core.Governance;

/// <summary>Where a control applies: everything, one agent, or one tool.</summary>
public enum ControlScope
{
    /// <summary>Every run, every tool.</summary>
    Global,
    /// <summary>Every run of one agent.</summary>
    Agent,
    /// <summary>Every call of one tool.</summary>
    Tool,
}

/// <summary>What a control is. Both deny at the gate; a quarantine applies to a tool only.</summary>
public enum ControlKind
{
    /// <summary>An emergency stop at global, agent or tool scope.</summary>
    KillSwitch,
    /// <summary>A tool taken out of service (suspected faulty or compromised) until released.</summary>
    Quarantine,
}

/// <summary>An engaged control, with who engaged it, when and why.</summary>
/// <param name="Scope">Where it applies.</param>
/// <param name="Target">The agent or tool name; <c>null</c> for global scope.</param>
/// <param name="Kind">Kill switch or quarantine.</param>
/// <param name="Reason">Why it was engaged; recorded in every decision it makes.</param>
/// <param name="EngagedBy">The principal who engaged it.</param>
/// <param name="EngagedAt">When it was engaged.</param>
public sealed record ControlState(ControlScope Scope, string? Target, ControlKind Kind, string Reason, string EngagedBy, DateTimeOffset EngagedAt)
{
    /// <summary>
    /// The rule a gate decision names: <c>kill-switch:global</c>, <c>kill-switch:agent:{name}</c>,
    /// <c>kill-switch:tool:{name}</c> or <c>quarantine:tool:{name}</c>.
    /// </summary>
    public string Rule => Controls.Rule(Scope, Target, Kind);
}

/// <summary>One entry of the control history: every engage and release is kept.</summary>
public sealed record ControlEvent(string Action, ControlScope Scope, string? Target, ControlKind Kind, string Reason, string By, DateTimeOffset At);

/// <summary>
/// Kill switches and quarantines. The gate asks <see cref="GetActiveAsync"/> before the policy on every
/// step, so an engaged control stops running runs at their next step. A store that can not answer throws,
/// and the gate fails closed.
/// </summary>
public interface IControlStore
{
    /// <summary>Engages a control (replacing the same control if already engaged) and records it in the history.</summary>
    Task<ControlState> EngageAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken);

    /// <summary>Releases a control and records it in the history; <c>false</c> if it was not engaged.</summary>
    Task<bool> ReleaseAsync(ControlScope scope, string? target, ControlKind kind, string reason, string by, CancellationToken cancellationToken);

    /// <summary>The engaged controls that apply to a call of <paramref name="tool"/> by a run of <paramref name="agent"/>.</summary>
    Task<IReadOnlyList<ControlState>> GetActiveAsync(string agent, string tool, CancellationToken cancellationToken);

    /// <summary>Every engaged control.</summary>
    Task<IReadOnlyList<ControlState>> ListActiveAsync(CancellationToken cancellationToken);

    /// <summary>The engage and release history, newest first.</summary>
    Task<IReadOnlyList<ControlEvent>> HistoryAsync(int max, CancellationToken cancellationToken);
}

/// <summary>The rules of controls both the stores and the API share.</summary>
public static class Controls
{
    /// <summary>The policy id of decisions made by a control.</summary>
    public const string PolicyId = "controls";

    /// <summary>The longest accepted reason.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>The longest accepted target name.</summary>
    public const int MaxTargetLength = 128;

    /// <summary>The wire name of a scope: <c>global</c>, <c>agent</c>, <c>tool</c>.</summary>
    public static string Name(ControlScope scope) => scope switch
    {
        ControlScope.Global => "global",
        ControlScope.Agent => "agent",
        _ => "tool",
    };

    /// <summary>The wire name of a kind: <c>kill-switch</c>, <c>quarantine</c>.</summary>
    public static string Name(ControlKind kind) => kind == ControlKind.KillSwitch ? "kill-switch" : "quarantine";

    /// <summary>Parses a scope name, or <c>null</c>.</summary>
    public static ControlScope? ParseScope(string? name) => name switch
    {
        "global" => ControlScope.Global,
        "agent" => ControlScope.Agent,
        "tool" => ControlScope.Tool,
        _ => null,
    };

    /// <summary>The rule a decision by this control names.</summary>
    public static string Rule(ControlScope scope, string? target, ControlKind kind) =>
        scope == ControlScope.Global ? $"{Name(kind)}:global" : $"{Name(kind)}:{Name(scope)}:{target}";

    /// <summary>What is wrong with a target for a scope and kind, or <c>null</c> if it is acceptable.</summary>
    public static string? TargetProblem(ControlScope scope, string? target, ControlKind kind)
    {
        if (kind == ControlKind.Quarantine && scope != ControlScope.Tool)
        {
            return "A quarantine applies to a tool only.";
        }
        if (scope == ControlScope.Global)
        {
            return target is null ? null : "A global control has no target.";
        }
        if (string.IsNullOrWhiteSpace(target))
        {
            return $"Required: the {Name(scope)} name.";
        }
        // Table row keys refuse these characters; names never need them.
        if (target.Length > MaxTargetLength || target.Any(c => char.IsControl(c) || c is '/' or '\\' or '#' or '?' || char.IsWhiteSpace(c)))
        {
            return $"Must be 1 to {MaxTargetLength} printable characters without white space, '/', '\\', '#' or '?'.";
        }
        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless scope, target, kind and reason are acceptable.</summary>
    public static void Validate(ControlScope scope, string? target, ControlKind kind, string reason, string by)
    {
        if (TargetProblem(scope, target, kind) is { } problem)
        {
            throw new ArgumentException(problem, nameof(target));
        }
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"A reason of 1 to {MaxReasonLength} characters is required.", nameof(reason));
        }
        if (string.IsNullOrWhiteSpace(by))
        {
            throw new ArgumentException("The principal is required.", nameof(by));
        }
    }

    /// <summary>Whether <paramref name="control"/> applies to a call of <paramref name="tool"/> by <paramref name="agent"/>.</summary>
    public static bool AppliesTo(ControlState control, string agent, string tool)
    {
        ArgumentNullException.ThrowIfNull(control);
        return control.Scope switch
        {
            ControlScope.Global => true,
            ControlScope.Agent => string.Equals(control.Target, agent, StringComparison.Ordinal),
            _ => string.Equals(control.Target, tool, StringComparison.Ordinal),
        };
    }

    /// <summary>
    /// The recorded forbid decision for a step stopped by a control, or <c>null</c> if none applies. The broadest
    /// control decides (global, then agent, then tool; a kill switch before a quarantine).
    /// </summary>
    public static GateDecision? Decide(IReadOnlyList<ControlState> active, GateInput input, string toolVersion, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(input);
        var control = active.OrderBy(c => c.Scope).ThenBy(c => c.Kind).FirstOrDefault();
        return control is null
            ? null
            : new GateDecision(input.RunId, input.StepId, input.Tool, toolVersion, input.ArgsDigest, GateEffect.Forbid,
                PolicyId, control.EngagedAt.ToString("o", System.Globalization.CultureInfo.InvariantCulture), control.Rule, control.Reason, null, now);
    }
}
