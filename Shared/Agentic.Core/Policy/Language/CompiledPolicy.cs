using System.Collections.Frozen;
using Agentic.Core.Agents;

namespace Agentic.Core.Policy.Language;

/// <summary>Whether a policy's decisions are enforced by the gate or only recorded.</summary>
public enum PolicyMode
{
    /// <summary>The gate acts on the decision.</summary>
    Enforce,
    /// <summary>Log-only: the decision is recorded next to the enforced one, never acted on.</summary>
    Shadow,
}

/// <summary>What happens when an approval is not given in time. Never a permit.</summary>
public enum ApprovalTimeoutAction
{
    /// <summary>The action is rejected.</summary>
    Reject,
    /// <summary>The request goes to <see cref="ApprovalRequirement.EscalateTo"/>.</summary>
    Escalate,
}

/// <summary>
/// Who must approve a <c>require_approval</c> decision: <see cref="Quorum"/> distinct approvers holding
/// <see cref="Role"/> (out of <see cref="QuorumOf"/> asked, when the policy says so), within <see cref="Timeout"/>;
/// after it the request is rejected or escalated to <see cref="EscalateTo"/>.
/// </summary>
public sealed record ApprovalRequirement(string Role, int Quorum, int? QuorumOf, TimeSpan Timeout, ApprovalTimeoutAction OnTimeout, string? EscalateTo);

/// <summary>One rule of a loaded policy, as written (for listing and explaining; evaluation uses the compiled form).</summary>
public sealed record PolicyRule(string Id, GateEffect Effect, string? When, string? Description, ApprovalRequirement? Approval, int Line, int Column);

/// <summary>
/// A policy's answer for one request: the effect, the rule that decided it (<c>default-deny</c> when none matched),
/// and the policy's id, version and content hash. Instances are created at load, one per rule, and shared:
/// <see cref="CompiledPolicy.Evaluate"/> allocates nothing.
/// </summary>
public sealed class PolicyDecision
{
    /// <summary>The rule name used when no rule matches.</summary>
    public const string DefaultDenyRule = "default-deny";

    internal PolicyDecision(GateEffect effect, string rule, string reason, ApprovalRequirement? approval, CompiledPolicyIdentity policy)
    {
        Effect = effect;
        Rule = rule;
        Reason = reason;
        Approval = approval;
        PolicyId = policy.Id;
        PolicyVersion = policy.Version;
        ContentHash = policy.ContentHash;
        Mode = policy.Mode;
    }

    /// <summary>Permit, forbid or require approval.</summary>
    public GateEffect Effect { get; }

    /// <summary>The id of the rule that decided, or <see cref="DefaultDenyRule"/>.</summary>
    public string Rule { get; }

    /// <summary>Why, for people: the rule's description, or a sentence naming the rule.</summary>
    public string Reason { get; }

    /// <summary>Who must approve, for <see cref="GateEffect.RequireApproval"/>.</summary>
    public ApprovalRequirement? Approval { get; }

    /// <summary>The deciding policy's id.</summary>
    public string PolicyId { get; }

    /// <summary>The deciding policy's version.</summary>
    public string PolicyVersion { get; }

    /// <summary>SHA-256 of the policy's YAML text (<c>sha256:...</c>).</summary>
    public string ContentHash { get; }

    /// <summary>Whether the deciding policy is enforced or in shadow mode.</summary>
    public PolicyMode Mode { get; }

    /// <summary>Whether no rule matched.</summary>
    public bool IsDefaultDeny => ReferenceEquals(Rule, DefaultDenyRule);

    /// <summary>The decision as a <see cref="PolicyResult"/> (allocates).</summary>
    public PolicyResult ToResult() => new(Effect, Rule, Reason, Approval?.Role);

    /// <inheritdoc />
    public override string ToString() => $"{PolicyEffects.Name(Effect)} by {PolicyId}@{PolicyVersion}/{Rule}";
}

/// <summary>The YAML names of <see cref="GateEffect"/>.</summary>
public static class PolicyEffects
{
    /// <summary>permit, forbid or require_approval.</summary>
    public static string Name(GateEffect effect) => effect switch
    {
        GateEffect.Permit => "permit",
        GateEffect.Forbid => "forbid",
        _ => "require_approval",
    };

    /// <summary>The effect named <paramref name="name"/> in a policy or test file.</summary>
    public static bool TryParse(string name, out GateEffect effect)
    {
        (var ok, effect) = name switch
        {
            "permit" => (true, GateEffect.Permit),
            "forbid" => (true, GateEffect.Forbid),
            "require_approval" => (true, GateEffect.RequireApproval),
            _ => (false, GateEffect.Forbid),
        };
        return ok;
    }
}

internal sealed record CompiledPolicyIdentity(string Id, string Version, string ContentHash, PolicyMode Mode, string? Description = null);

/// <summary>
/// A policy compiled at load: every condition is a delegate, every decision a shared instance.
/// Semantics: default deny; any matching forbid wins; otherwise require_approval wins over permit; within an
/// effect the first matching rule in document order decides. Evaluation is deterministic and allocates nothing.
/// Load one with <see cref="PolicyLoader"/>.
/// </summary>
public sealed partial class CompiledPolicy
{
    /// <summary>Below this many rules a scan is cheaper than the tool-name lookup.</summary>
    internal const int DefaultIndexMinRules = 16;

    // Bounds the index's size: one bucket per tool name holds every rule not tied to a tool.
    private const int MaxIndexEntries = 200_000;

    private readonly Buckets _all;
    private readonly FrozenDictionary<string, Buckets>? _byTool;
    private readonly Buckets _untied;
    private readonly IReadOnlyList<Expr?> _expressions;

    internal CompiledPolicy(CompiledPolicyIdentity identity, string source, IReadOnlyList<PolicyRule> rules, IReadOnlyList<Condition> conditions, IReadOnlyList<IReadOnlyList<string>?> toolNames, int indexMinRules, IReadOnlyList<Expr?> expressions)
    {
        _expressions = expressions;
        Id = identity.Id;
        Version = identity.Version;
        ContentHash = identity.ContentHash;
        Mode = identity.Mode;
        Description = identity.Description;
        Source = source;
        Rules = rules;
        DefaultDeny = new PolicyDecision(GateEffect.Forbid, PolicyDecision.DefaultDenyRule, $"No rule of policy '{identity.Id}' matched (default deny).", null, identity);
        var compiled = rules.Select((rule, i) => new CompiledRule(conditions[i], new PolicyDecision(rule.Effect, rule.Id, rule.Description ?? DefaultReason(rule), rule.Approval, identity), toolNames[i])).ToArray();
        _all = new Buckets(compiled);
        _untied = new Buckets([.. compiled.Where(r => r.ToolNames is null)]);

        // A rule with a top-level conjunct tool.name == 'x' (or in [...]) can only match requests for those tools:
        // index them by name, so a request only tries its tool's rules and the rules tied to no tool.
        var names = compiled.Where(r => r.ToolNames is not null).SelectMany(r => r.ToolNames!).Distinct(StringComparer.Ordinal).ToList();
        if (compiled.Length >= indexMinRules && names.Count > 0 && (long)names.Count * (_untied.Count + 1) <= MaxIndexEntries)
        {
            _byTool = names.ToFrozenDictionary(
                name => name,
                name => new Buckets([.. compiled.Where(r => r.ToolNames is null || r.ToolNames.Contains(name, StringComparer.Ordinal))]),
                StringComparer.Ordinal);
        }
    }

    /// <summary>The policy's id.</summary>
    public string Id { get; }

    /// <summary>The policy's version, as written.</summary>
    public string Version { get; }

    /// <summary>SHA-256 of the YAML text the policy was loaded from (<c>sha256:...</c>).</summary>
    public string ContentHash { get; }

    /// <summary>Enforced, or shadow (log-only).</summary>
    public PolicyMode Mode { get; }

    /// <summary>What the policy is for, as written.</summary>
    public string? Description { get; }

    /// <summary>Where the policy was loaded from (a path, or the name given with the text).</summary>
    public string Source { get; }

    /// <summary>The rules, in document order.</summary>
    public IReadOnlyList<PolicyRule> Rules { get; }

    /// <summary>The decision when no rule matches.</summary>
    public PolicyDecision DefaultDeny { get; }

    internal bool Indexed => _byTool is not null;

    /// <summary>Decides one request. Allocates nothing.</summary>
    /// <exception cref="ArgumentException">The request is <c>default(PolicyRequest)</c>.</exception>
    public PolicyDecision Evaluate(in PolicyRequest request)
    {
        if (request.IsDefault)
        {
            ThrowDefault();
        }
        var buckets = _byTool is null ? _all : _byTool.TryGetValue(request.Strings[PolicySchema.Strings.ToolName], out var tied) ? tied : _untied;
        foreach (var rule in buckets.Forbids)
        {
            if (rule.Condition(in request))
            {
                return rule.Decision;
            }
        }
        foreach (var rule in buckets.Approvals)
        {
            if (rule.Condition(in request))
            {
                return rule.Decision;
            }
        }
        foreach (var rule in buckets.Permits)
        {
            if (rule.Condition(in request))
            {
                return rule.Decision;
            }
        }
        return DefaultDeny;
    }

    private static void ThrowDefault() => throw new ArgumentException("The request is default(PolicyRequest); build one with its constructor.", "request");

    private static string DefaultReason(PolicyRule rule) => rule.Effect switch
    {
        GateEffect.Permit => $"Rule '{rule.Id}' permits the action.",
        GateEffect.Forbid => $"Rule '{rule.Id}' forbids the action.",
        _ => $"Rule '{rule.Id}' requires approval by {rule.Approval!.Role}.",
    };

    private readonly record struct CompiledRule(Condition Condition, PolicyDecision Decision, IReadOnlyList<string>? ToolNames);

    /// <summary>Rules by effect, each in document order.</summary>
    private sealed class Buckets(CompiledRule[] rules)
    {
        public CompiledRule[] Forbids { get; } = [.. rules.Where(r => r.Decision.Effect == GateEffect.Forbid)];
        public CompiledRule[] Approvals { get; } = [.. rules.Where(r => r.Decision.Effect == GateEffect.RequireApproval)];
        public CompiledRule[] Permits { get; } = [.. rules.Where(r => r.Decision.Effect == GateEffect.Permit)];
        public int Count => rules.Length;
    }
}
