using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using FsCheck;
using FsCheck.Fluent;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>The partial evaluation that tells a planner which tools the policy could ever let through.</summary>
public sealed class PolicyReachTests
{
    private static readonly CompiledPolicy Policy = Load(PolicyOf(
        Rule("no-irreversible-in-prod", "forbid", "tool.sideEffect == 'irreversible' && context.environment == 'prod'"),
        Rule("no-huge-scale", "forbid", "tool.name == 'sample.scale' && args.replicas > 100"),
        Rule("quiet-hours", "forbid", "tool.name == 'sample.restart' && context.hour < 6"),
        Rule("small-scale", "permit", "tool.name == 'sample.scale' && args.replicas <= 5"),
        Rule("restart-by-operators", "require_approval", "tool.name == 'sample.restart' && 'operator' in principal.roles"),
        Rule("reads", "permit", "tool.sideEffect == 'read-only'")));

    [Fact]
    public void ForbidThatHoldsWhateverTheArguments_MakesTheToolUnreachable_NamingTheRule()
    {
        var reach = Policy.Reach(Request(tool: "sample.delete", risk: RiskLevel.Critical, sideEffect: SideEffect.Irreversible, environment: "prod"));

        Assert.False(reach.Reachable);
        Assert.Equal("no-irreversible-in-prod", reach.Rule);
    }

    [Fact]
    public void ToolNoRuleCanPermit_IsUnreachable_ByDefaultDeny()
    {
        var reach = Policy.Reach(Request(tool: "sample.delete", sideEffect: SideEffect.Irreversible, environment: "dev"));

        Assert.False(reach.Reachable);
        Assert.Equal(PolicyDecision.DefaultDenyRule, reach.Rule);
    }

    [Fact]
    public void PermitThatDependsOnArguments_KeepsTheToolReachable_EvenBesideAForbidOnOtherArguments()
    {
        var reach = Policy.Reach(Request(tool: "sample.scale", sideEffect: SideEffect.Reversible));

        Assert.True(reach.Reachable, reach.Reason);
        Assert.Contains("'small-scale'", reach.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ApprovalRule_ForThisPrincipal_KeepsTheToolReachable_AndAnotherPrincipalLosesIt()
    {
        Assert.True(Policy.Reach(Request(tool: "sample.restart", sideEffect: SideEffect.Reversible, roles: ["operator"])).Reachable);
        Assert.False(Policy.Reach(Request(tool: "sample.restart", sideEffect: SideEffect.Reversible, roles: ["viewer"])).Reachable);
    }

    [Fact]
    public void TheHourIsUnknown_AForbidOnTheHourDoesNotHideTheTool()
    {
        // Planned at 03:00, the step may be gated after 06:00: the tool stays on offer, the gate decides on the call.
        Assert.True(Policy.Reach(Request(tool: "sample.restart", sideEffect: SideEffect.Reversible, hour: 3)).Reachable);
    }

    [Fact]
    public void Reach_IsSound_AnUnreachableToolIsForbiddenWhateverItsArgumentsAndTheRunsProgress()
    {
        var completions = Gen.ArrayOf(
            from hour in Gen.Choose(0, 23)
            from replicas in Gen.Elements<int?>(null, 0, 1, 3, 5, 8, 10, 11, 12)
            from mode in Gen.Elements<string?>(null, "fast", "slow", "other")
            from force in Gen.Elements<bool?>(null, true, false)
            select (hour, replicas, mode, force), 60);
        var (reachable, unreachable) = (0, 0);
        var property = Prop.ForAll(Gen.Zip(Gen.Zip(Generators.Rules(permitsOnly: false), Generators.Request), completions).ToArbitrary(), sample =>
        {
            var ((rules, request), variations) = sample;
            var policy = Load(Generators.Yaml(rules));
            var reach = policy.Reach(request.ToPolicyRequest());
            if (reach.Reachable)
            {
                reachable++;
                return true;
            }
            unreachable++;
            return variations
                .Select(v => request with { Hour = v.hour, Replicas = v.replicas, Mode = v.mode, Force = v.force })
                .Prepend(request)
                .All(c => Generators.Expected(rules, c).Effect == GateEffect.Forbid && policy.Evaluate(c.ToPolicyRequest()).Effect == GateEffect.Forbid);
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true), property);

        // The floors only catch generators that stop making both kinds.
        Assert.True(reachable >= 100 && unreachable >= 100, $"reachable {reachable}, unreachable {unreachable}");
    }
}
