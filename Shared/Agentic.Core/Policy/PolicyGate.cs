using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;

namespace Agentic.Core.Policy;

/// <summary>
/// The policy part of the gate, pure: evaluates the enforced policy (and the shadow policy, for the record) for one
/// step and applies the run's autonomy level. Autonomy only ever tightens a decision: <c>observe</c> forbids every
/// action, <c>suggest</c> turns a permit into an approval, <c>supervised</c> turns a permit of a high- or
/// critical-risk change into an approval, <c>autonomous</c> leaves the policy's decision as it is. A step proposed by a
/// model that read untrusted content (<see cref="GateInput.Tainted"/>) is tightened the same way at every level: a
/// permitted change (anything not read-only) needs an operator's approval, unless the tool records data as given and is
/// low-risk and reversible (<see cref="ToolDescriptor.DataEntry"/>: such data is what an extraction from untrusted content
/// is, and the policy decides it). Whatever the policy, taint never widens a decision: a forbid stays a forbid, and
/// default deny stays default deny.
/// </summary>
public static class PolicyGate
{
    /// <summary>The rule prefix of decisions that autonomy tightened.</summary>
    public const string AutonomyRulePrefix = "autonomy:";

    /// <summary>The rule of decisions that taint tightened.</summary>
    public const string TaintRule = "taint:untrusted-input";

    /// <summary>The role that approves what autonomy (not a policy rule) sends for approval.</summary>
    public const string DefaultApproverRole = ShippedPolicies.ApproverRole;

    /// <summary>
    /// The recorded decision for a step whose tool and arguments passed the registry's checks. <paramref name="toolHash"/>
    /// is the descriptor's hash when the caller has it at hand (<see cref="ToolRegistry.HashOf"/>); otherwise it is computed.
    /// <paramref name="assessment"/> is what the service of an assessed tool said about the call.
    /// </summary>
    public static GateDecision Decide(ActivePolicies policies, GateInput input, ToolDescriptor tool, DateTimeOffset now, string? toolHash = null, System.Text.Json.JsonElement assessment = default)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(tool);
        var autonomy = input.Autonomy ?? Autonomy.Supervised;
        var request = PolicyRequest.FromGate(input, tool, now, autonomy, input.PrincipalRoles, input.Target, input.BudgetUsed, tool.Tags, assessment);
        var taint = input.Tainted ? input.TaintSources ?? [] : null;
        var enforced = Apply(policies.Enforced.Evaluate(in request), autonomy, tool.Risk, tool.SideEffect, taint, tool.DataEntry);
        var policy = policies.Enforced;
        ShadowDecision? shadow = null;
        if (policies.Shadow is { } candidate)
        {
            var s = Apply(candidate.Evaluate(in request), autonomy, tool.Risk, tool.SideEffect, taint, tool.DataEntry);
            shadow = new(s.Effect, candidate.Id, candidate.Version, candidate.ContentHash, s.Rule, s.Reason);
        }
        return new GateDecision(input.RunId, input.StepId, input.Tool, tool.Version, input.ArgsDigest, enforced.Effect,
            policy.Id, policy.Version, enforced.Rule, enforced.Reason, enforced.Approval?.Role, now, policy.ContentHash)
        {
            Approval = enforced.Approval,
            Shadow = shadow,
            Request = Snapshot(in request, now) with { DataEntry = tool.DataEntry },
            Cost = tool.CallCost,
            Autonomy = autonomy,
            ToolHash = toolHash ?? tool.Hash,
        };
    }

    /// <summary>
    /// The tools a planner may be offered for this run: those the enforced policy could permit or send for approval for
    /// this principal, agent, environment and target, whatever arguments the planner chose (<see cref="CompiledPolicy.Reach"/>),
    /// under the run's autonomy (<c>observe</c> offers none). Each with its reason, so the offer can be recorded.
    /// </summary>
    public static IReadOnlyList<ToolOffer> Offer(ActivePolicies policies, OfferContext context, IEnumerable<ToolDescriptor> tools)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(tools);
        var offers = new List<ToolOffer>();
        foreach (var tool in tools)
        {
            if (context.Autonomy is not (Autonomy.Suggest or Autonomy.Supervised or Autonomy.Autonomous))
            {
                var rule = AutonomyRulePrefix + (context.Autonomy == Autonomy.Observe ? Autonomy.Observe : "unknown");
                offers.Add(new ToolOffer(tool.Name, tool.Version, false, $"The agent runs at autonomy '{context.Autonomy}': it calls no tool.", rule));
                continue;
            }
            // Arguments and the run's progress are unknown to the partial evaluation; these placeholders are never read.
            var known = new PolicyRequest(
                new PolicyPrincipal(context.Principal, context.Roles),
                new PolicyAgent(context.Agent, context.Autonomy),
                PolicyTool.From(tool, tool.Tags),
                default,
                new PolicyResource(context.Target, context.Environment),
                new PolicyContext(context.Environment, 0, 0, 0, context.Autonomy) { Tainted = context.Tainted, TaintSources = context.TaintSources ?? [] });
            var reach = policies.Enforced.Reach(in known);
            offers.Add(new ToolOffer(tool.Name, tool.Version, reach.Reachable, reach.Reason, reach.Rule));
        }
        return offers;
    }

    /// <summary>The request <paramref name="snapshot"/> describes, for evaluating it again (what-if).</summary>
    public static PolicyRequest Rebuild(DecisionRequest snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new PolicyRequest(
            new PolicyPrincipal(snapshot.Principal, snapshot.Roles ?? []),
            new PolicyAgent(snapshot.Agent, snapshot.Autonomy),
            new PolicyTool(snapshot.Tool, snapshot.ToolVersion, snapshot.Risk, snapshot.SideEffect, snapshot.Tags ?? []),
            snapshot.Arguments,
            new PolicyResource(snapshot.Target, snapshot.Environment),
            new PolicyContext(snapshot.Environment, snapshot.Hour, snapshot.BudgetUsed, snapshot.StepsTaken, snapshot.Autonomy) { Tainted = snapshot.Tainted, TaintSources = snapshot.TaintSources ?? [] },
            snapshot.Assessment ?? default);
    }

    /// <summary>What a policy's decision becomes under <paramref name="autonomy"/> for <paramref name="tool"/>.</summary>
    public static GateOutcome Apply(PolicyDecision decision, string autonomy, ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        return Apply(decision, autonomy, tool.Risk, tool.SideEffect);
    }

    /// <summary>
    /// What a policy's decision becomes under <paramref name="autonomy"/> for a tool of this risk and side effect, for a
    /// step whose proposer read the untrusted <paramref name="taintSources"/> (<c>null</c>: an untainted step), of a tool
    /// that records data as given when <paramref name="dataEntry"/> (<see cref="ToolDescriptor.DataEntry"/>).
    /// </summary>
    public static GateOutcome Apply(PolicyDecision decision, string autonomy, RiskLevel risk, SideEffect sideEffect, IReadOnlyList<string>? taintSources = null, bool dataEntry = false)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var terms = decision.Approval is { } a
            ? new ApprovalTerms(a.Role, a.Quorum, a.Timeout, a.OnTimeout == ApprovalTimeoutAction.Escalate ? a.EscalateTo : null)
            : null;
        var outcome = new GateOutcome(decision.Effect, decision.Rule, decision.Reason, terms);
        if (decision.Effect == GateEffect.Forbid)
        {
            return outcome;
        }
        // A low-risk, reversible tool that records data as given takes untrusted data by design; anything else a tainted
        // model proposes that changes state waits for a human.
        var recordsData = dataEntry && risk == RiskLevel.Low && sideEffect == SideEffect.Reversible;
        if (taintSources is not null && !recordsData && decision.Effect == GateEffect.Permit && sideEffect != SideEffect.ReadOnly && autonomy is Autonomy.Suggest or Autonomy.Supervised or Autonomy.Autonomous)
        {
            var sources = taintSources.Count == 0 ? "an untrusted source" : string.Join(", ", taintSources.Take(5));
            return new(GateEffect.RequireApproval, TaintRule,
                $"Proposed by a model that read untrusted content ({sources}): a change needs approval (policy rule '{decision.Rule}' permits it).", new(DefaultApproverRole));
        }
        switch (autonomy)
        {
            case Autonomy.Observe:
                return new(GateEffect.Forbid, AutonomyRulePrefix + Autonomy.Observe, "The agent runs at autonomy 'observe': it plans and never acts.", null);
            case Autonomy.Suggest when decision.Effect == GateEffect.Permit:
                return new(GateEffect.RequireApproval, AutonomyRulePrefix + Autonomy.Suggest,
                    $"The agent runs at autonomy 'suggest': every action needs approval (policy rule '{decision.Rule}' permits it).", new(DefaultApproverRole));
            case Autonomy.Supervised when decision.Effect == GateEffect.Permit && risk >= RiskLevel.High && sideEffect != SideEffect.ReadOnly:
                return new(GateEffect.RequireApproval, AutonomyRulePrefix + Autonomy.Supervised,
                    $"The agent runs supervised: a {Name(risk)}-risk change needs approval (policy rule '{decision.Rule}' permits it).", new(DefaultApproverRole));
            case Autonomy.Observe or Autonomy.Suggest or Autonomy.Supervised or Autonomy.Autonomous:
                return outcome;
            default:
                return new(GateEffect.Forbid, AutonomyRulePrefix + "unknown", $"Unknown autonomy level '{autonomy}': failing closed.", null);
        }
    }

    private static DecisionRequest Snapshot(in PolicyRequest request, DateTimeOffset now) => new(
        request.Principal.Id,
        [.. request.Principal.Roles],
        request.Agent.Name,
        request.Agent.Autonomy,
        request.Tool.Name,
        request.Tool.Version,
        request.Tool.Risk,
        request.Tool.SideEffect,
        [.. request.Tool.Tags],
        request.Arguments.ValueKind == System.Text.Json.JsonValueKind.Undefined ? default : request.Arguments.Clone(),
        request.Resource.Target,
        request.Resource.Environment,
        now.UtcDateTime.Hour,
        request.Context.BudgetUsed,
        request.Context.StepsTaken)
    {
        Tainted = request.Context.Tainted,
        TaintSources = request.Context.Tainted ? [.. request.Context.TaintSources] : null,
        Assessment = request.Assessment.ValueKind == System.Text.Json.JsonValueKind.Object ? request.Assessment.Clone() : null,
    };

    private static string Name(RiskLevel risk) => risk.ToString().ToLowerInvariant();
}

/// <summary>Who plans, for whom, where: what fixes a partial evaluation of the policy.</summary>
public sealed record OfferContext(string Principal, IReadOnlyList<string> Roles, string Agent, string Autonomy, string Environment, string Target)
{
    /// <summary>Whether the planner will read untrusted content (so its steps will be tainted).</summary>
    public bool Tainted { get; init; }

    /// <summary>The untrusted sources it will read.</summary>
    public IReadOnlyList<string>? TaintSources { get; init; }
}

/// <summary>Whether a tool is offered to a planner, and why (the rule that keeps it out, when it is not).</summary>
public sealed record ToolOffer(string Tool, string Version, bool Offered, string Reason, string? Rule);

/// <summary>What the gate enforces for one step: effect, deciding rule, reason, and approval terms.</summary>
public sealed record GateOutcome(GateEffect Effect, string Rule, string Reason, ApprovalTerms? Approval);
