using System.Text;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using FsCheck;
using FsCheck.Fluent;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>
/// Property-based tests (FsCheck): random policies and requests, checked against a reference evaluator written
/// independently of the engine (each generated atom carries its own meaning as a C# predicate).
/// FsCheck prints the seed of a failing run; replay it with Config.WithReplay.
/// </summary>
public sealed class PropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true);

    [Fact]
    public void DefaultDeny_PermitsWhoseConditionsAreFalse_AlwaysForbid()
    {
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: true), Generators.Request).ToArbitrary(), sample =>
        {
            var (rules, request) = sample;
            var falseOnes = rules.Where(r => r.When is not null && !r.When.Eval(request)).ToList();

            var decision = Load(Generators.Yaml(falseOnes)).Evaluate(request.ToPolicyRequest());

            return decision.Effect == GateEffect.Forbid && decision.IsDefaultDeny;
        });

        Check.One(Config, property);
    }

    [Fact]
    public void PermitOnlyPolicies_PermitExactlyWhenSomeConditionHolds()
    {
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: true), Generators.Request).ToArbitrary(), sample =>
        {
            var (rules, request) = sample;

            var decision = Load(Generators.Yaml(rules)).Evaluate(request.ToPolicyRequest());

            return (decision.Rule, decision.Effect) == Generators.Expected(rules, request);
        });

        Check.One(Config, property);
    }

    [Fact]
    public void ForbidOverrides_AddingAnAlwaysTrueForbid_MakesEveryDecisionForbid()
    {
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: false), Generators.Request).ToArbitrary(), sample =>
        {
            var (rules, request) = sample;
            var withStop = rules.Append(new RuleModel("zz-forbid-all", "forbid", null)).ToList();

            var decision = Load(Generators.Yaml(withStop)).Evaluate(request.ToPolicyRequest());

            var firstForbid = rules.FirstOrDefault(r => r.Effect == "forbid" && r.Holds(request))?.Id ?? "zz-forbid-all";
            return decision.Effect == GateEffect.Forbid && decision.Rule == firstForbid;
        });

        Check.One(Config, property);
    }

    [Fact]
    public void MixedPolicies_DecideAsTheReferenceSemantics()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: false), Generators.Request).ToArbitrary(), sample =>
        {
            var (rules, request) = sample;

            var decision = Load(Generators.Yaml(rules)).Evaluate(request.ToPolicyRequest());

            var kind = decision.IsDefaultDeny ? "default" : PolicyEffects.Name(decision.Effect);
            seen[kind] = seen.GetValueOrDefault(kind) + 1;
            return (decision.Rule, decision.Effect) == Generators.Expected(rules, request);
        });

        Check.One(Config.WithMaxTest(500), property);

        // The generators reach every outcome, so the property says something about each.
        Assert.All(new[] { "default", "permit", "forbid", "require_approval" }, kind => Assert.True(seen.GetValueOrDefault(kind) >= 25, $"{kind}: {seen.GetValueOrDefault(kind)}"));
    }

    [Fact]
    public void ToolNameIndex_DecidesExactlyAsTheFullScan()
    {
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: false), Gen.ArrayOf(Generators.Request, 8)).ToArbitrary(), sample =>
        {
            var (rules, requests) = sample;
            var yaml = Generators.Yaml(rules);
            var indexed = PolicyLoader.Load(yaml, FileName, analyze: true, indexMinRules: 0);
            var scanned = PolicyLoader.Load(yaml, FileName, analyze: true, indexMinRules: int.MaxValue);

            return !scanned.Indexed && requests.Select(r => r.ToPolicyRequest()).All(r => (indexed.Evaluate(r).Rule, indexed.Evaluate(r).Effect) == (scanned.Evaluate(r).Rule, scanned.Evaluate(r).Effect));
        });

        Check.One(Config, property);
    }

    [Fact]
    public void Determinism_SameTextAndRequest_GiveTheSameDecision_InAnyOrder()
    {
        var property = Prop.ForAll(Gen.Zip(Generators.Rules(permitsOnly: false), Gen.ArrayOf(Generators.Request, 8)).ToArbitrary(), sample =>
        {
            var (rules, requests) = sample;
            var yaml = Generators.Yaml(rules);
            var first = Load(yaml);
            var second = Load(yaml);
            var built = requests.Select(r => r.ToPolicyRequest()).ToArray();

            var forward = built.Select(r => first.Evaluate(r)).ToArray();
            var backward = built.Reverse().Select(r => first.Evaluate(r)).Reverse().ToArray();
            var again = built.Select(r => second.Evaluate(r)).ToArray();

            return first.ContentHash == second.ContentHash
                && forward.Zip(backward).All(p => ReferenceEquals(p.First, p.Second))
                && forward.Zip(again).All(p => (p.First.Rule, p.First.Effect, p.First.ContentHash) == (p.Second.Rule, p.Second.Effect, p.Second.ContentHash));
        });

        Check.One(Config, property);
    }

    [Fact]
    public void Analysis_IsSound_UnreachableAndShadowedRulesReallyCanNotDecide()
    {
        // Conditions here may repeat an attribute, so contradictions and implications happen often.
        string[] few = ["tool.name", "tool.risk", "context.hour", "args.replicas", "args.mode"];
        var sample = Gen.Zip(Gen.Zip(Generators.Condition(few, repeat: true), Generators.Condition(few, repeat: true)), Gen.ArrayOf(Generators.Request, 200));
        var (loaded, unreachable, shadowed) = (0, 0, 0);
        var property = Prop.ForAll(sample.ToArbitrary(), s =>
        {
            var ((forbid, permit), requests) = s;
            var rules = new List<RuleModel> { new("f", "forbid", forbid), new("p", "permit", permit) };
            if (PolicyLoader.TryLoad(Generators.Yaml(rules), FileName, out _, out var diagnostics))
            {
                loaded++;
                return true;
            }
            unreachable += diagnostics.Count(d => d.Code == DiagnosticCodes.UnreachableRule);
            shadowed += diagnostics.Count(d => d.Code == DiagnosticCodes.ShadowedRule);
            return diagnostics.All(d => d.Code switch
            {
                DiagnosticCodes.UnreachableRule => requests.All(r => !rules.Single(x => d.Message.StartsWith($"rule '{x.Id}'", StringComparison.Ordinal)).Holds(r)),
                DiagnosticCodes.ShadowedRule => requests.All(r => !permit.Eval(r) || forbid.Eval(r)),
                _ => false,
            });
        });

        // The floors only catch generators that stop making such policies. 1,000 unseeded draws once made 21 shadowed
        // rules, under the floor; 2,000 keep an unlucky draw well clear of it.
        Check.One(Config.WithMaxTest(2000), property);

        Assert.True(loaded >= 50 && unreachable >= 25 && shadowed >= 25, $"loaded {loaded}, unreachable {unreachable}, shadowed {shadowed}");
    }
}

/// <summary>A request as plain values, for the reference evaluator.</summary>
internal sealed record TestRequest(string Principal, string[] Roles, string Tool, RiskLevel Risk, SideEffect SideEffect, string Environment, int Hour, int? Replicas, string? Mode, bool? Force)
{
    public PolicyRequest ToPolicyRequest()
    {
        var args = new List<string>();
        if (Replicas is { } replicas)
        {
            args.Add($"\"replicas\":{replicas}");
        }
        if (Mode is { } mode)
        {
            args.Add($"\"mode\":\"{mode}\"");
        }
        if (Force is { } force)
        {
            args.Add(force ? "\"force\":true" : "\"force\":false");
        }
        return PolicyFixtures.Request(tool: Tool, risk: Risk, sideEffect: SideEffect, args: "{" + string.Join(",", args) + "}", environment: Environment, hour: Hour, roles: Roles, principal: Principal);
    }
}

/// <summary>An atomic condition: its text in the policy language and, independently, what it means.</summary>
internal sealed record AtomModel(string Text, Func<TestRequest, bool> Eval);

/// <summary>An OR of ANDs of possibly negated atoms.</summary>
internal sealed record ConditionModel(IReadOnlyList<IReadOnlyList<(AtomModel Atom, bool Negated)>> Terms)
{
    public string Text => string.Join(" || ", Terms.Select(t => "(" + string.Join(" && ", t.Select(l => l.Negated ? $"!({l.Atom.Text})" : l.Atom.Text)) + ")"));

    public bool Eval(TestRequest request) => Terms.Any(t => t.All(l => l.Atom.Eval(request) != l.Negated));
}

internal sealed record RuleModel(string Id, string Effect, ConditionModel? When)
{
    public bool Holds(TestRequest request) => When is null || When.Eval(request);

    public override string ToString() => $"{Id} {Effect} when {When?.Text ?? "(always)"}";
}

internal static class Generators
{
    public static readonly string[] AllFamilies = ["tool.name", "tool.risk", "tool.sideEffect", "context.environment", "context.hour", "principal.roles", "args.replicas", "args.mode", "args.force", "principal.id"];

    // Forbids are selected by a principal of their own, so no generated forbid can shadow another.
    private static readonly string[] ForbidFamilies = [.. AllFamilies.Where(f => f != "principal.id")];

    private static readonly RiskLevel[] Risks = Enum.GetValues<RiskLevel>();
    private static readonly SideEffect[] SideEffects = Enum.GetValues<SideEffect>();

    public static Gen<TestRequest> Request { get; } =
        from principal in Gen.Elements("p0", "p1", "p2", "p3", "p9")
        from roles in Gen.SubListOf("operator", "admin", "viewer")
        from tool in Gen.Elements("a", "b", "svc.read", "svc.write", "other")
        from risk in Gen.Elements(Risks)
        from sideEffect in Gen.Elements(SideEffects)
        from environment in Gen.Elements("dev", "test", "staging", "prod", "qa")
        from hour in Gen.Choose(0, 23)
        from replicas in Gen.Elements<int?>(null, 0, 1, 3, 5, 8, 10, 11, 12)
        from mode in Gen.Elements<string?>(null, "fast", "slow", "other")
        from force in Gen.Elements<bool?>(null, true, false)
        select new TestRequest(principal, [.. roles], tool, risk, sideEffect, environment, hour, replicas, mode, force);

    /// <summary>The atoms of one attribute family; every atom and its negation can hold on its own.</summary>
    public static Gen<AtomModel> Atom(string family) => family switch
    {
        "tool.name" => Gen.OneOf(
            Gen.Elements("a", "b", "svc.read", "svc.write").Select(n => new AtomModel($"tool.name == '{n}'", r => r.Tool == n)),
            Gen.Constant(new AtomModel("tool.name matches 'svc.*'", r => r.Tool.StartsWith("svc.", StringComparison.Ordinal))),
            Gen.Constant(new AtomModel("tool.name in ['a', 'svc.read']", r => r.Tool is "a" or "svc.read"))),
        "tool.risk" => Gen.OneOf(
            Gen.Elements(Risks).Select(k => new AtomModel($"tool.risk == '{Name(k)}'", r => r.Risk == k)),
            Gen.Elements(RiskLevel.Medium, RiskLevel.High, RiskLevel.Critical).Select(k => new AtomModel($"tool.risk >= '{Name(k)}'", r => r.Risk >= k)),
            Gen.Constant(new AtomModel("tool.risk in ['high', 'critical']", r => r.Risk is RiskLevel.High or RiskLevel.Critical))),
        "tool.sideEffect" => Gen.Elements(SideEffects).Select(s => new AtomModel($"tool.sideEffect == '{PolicySchema.SideEffectValues[(int)s]}'", r => r.SideEffect == s)),
        "context.environment" => Gen.Elements("dev", "staging", "prod").Select(e => new AtomModel($"context.environment == '{e}'", r => r.Environment == e)),
        "context.hour" => Gen.OneOf(
            Gen.Choose(1, 23).Select(h => new AtomModel(Invariant($"context.hour < {h}"), r => r.Hour < h)),
            Gen.Choose(1, 23).Select(h => new AtomModel(Invariant($"context.hour >= {h}"), r => r.Hour >= h))),
        "principal.roles" => Gen.Elements("operator", "admin").Select(role => new AtomModel($"'{role}' in principal.roles", r => r.Roles.Contains(role))),
        "args.replicas" => Gen.Choose(0, 10).Select(n => new AtomModel(Invariant($"args.replicas > {n}"), r => r.Replicas > n)),
        "args.mode" => Gen.OneOf(
            Gen.Constant(new AtomModel("args.mode == 'fast'", r => r.Mode == "fast")),
            Gen.Constant(new AtomModel("args.mode in ['fast', 'slow']", r => r.Mode is "fast" or "slow"))),
        "args.force" => Gen.Constant(new AtomModel("args.force", r => r.Force == true)),
        _ => Gen.Elements("p0", "p1", "p2").Select(p => new AtomModel($"principal.id == '{p}'", r => r.Principal == p)),
    };

    private static Gen<IReadOnlyList<(AtomModel, bool)>> Term(string[] families, bool repeat) =>
        from n in Gen.Choose(1, 3)
        from chosen in repeat ? Gen.ArrayOf(Gen.Elements(families), n) : Gen.Shuffle(families).Select(f => f.Take(n).ToArray())
        from atoms in Gen.CollectToArray(chosen, Atom)
        from negated in Gen.ArrayOf(Gen.Elements(false, false, true), n)
        select (IReadOnlyList<(AtomModel, bool)>)[.. atoms.Zip(negated)];

    /// <summary>An OR of one or two ANDs; without <paramref name="repeat"/> each AND names each family at most once, so it can hold.</summary>
    public static Gen<ConditionModel> Condition(string[] families, bool repeat = false) =>
        from k in Gen.Elements(1, 1, 2)
        from terms in Gen.ArrayOf(Term(families, repeat), k)
        select new ConditionModel(terms);

    /// <summary>
    /// Permits and approvals first (no forbid precedes them, so none is shadowed), then forbids, each selected by
    /// its own principal (so none covers another). Every generated policy must load with the full analysis.
    /// </summary>
    public static Gen<List<RuleModel>> Rules(bool permitsOnly)
    {
        var allowing =
            from effect in permitsOnly ? Gen.Constant("permit") : Gen.Elements("permit", "permit", "require_approval")
            from always in Gen.Elements(false, false, false, false, false, false, true)
            from when in Condition(AllFamilies)
            select (effect, always ? null : when);
        var forbid = Condition(ForbidFamilies);
        return
            from allowCount in Gen.Choose(0, 6)
            from allows in Gen.ArrayOf(allowing, allowCount)
            from forbidCount in permitsOnly ? Gen.Constant(0) : Gen.Choose(0, 4)
            from forbids in Gen.ArrayOf(forbid, forbidCount)
            select allows.Select((a, i) => new RuleModel($"r{i}", a.effect, a.Item2))
                .Concat(forbids.Select((f, i) => new RuleModel($"f{i}", "forbid", Selected($"p{i}", f))))
                .ToList();
    }

    private static ConditionModel Selected(string principal, ConditionModel condition) =>
        new([.. condition.Terms.Select(t => (IReadOnlyList<(AtomModel, bool)>)[(new AtomModel($"principal.id == '{principal}'", r => r.Principal == principal), false), .. t])]);

    /// <summary>The reference semantics: first matching forbid, else first matching approval, else first matching permit, else default deny.</summary>
    public static (string Rule, GateEffect Effect) Expected(IReadOnlyList<RuleModel> rules, TestRequest request)
    {
        foreach (var (effect, gate) in new[] { ("forbid", GateEffect.Forbid), ("require_approval", GateEffect.RequireApproval), ("permit", GateEffect.Permit) })
        {
            if (rules.FirstOrDefault(r => r.Effect == effect && r.Holds(request)) is { } rule)
            {
                return (rule.Id, gate);
            }
        }
        return ("default-deny", GateEffect.Forbid);
    }

    public static string Yaml(IReadOnlyList<RuleModel> rules)
    {
        var text = new StringBuilder("id: generated\nversion: \"1\"\nrules:\n");
        foreach (var rule in rules)
        {
            text.Append("  - id: ").Append(rule.Id).Append("\n    effect: ").Append(rule.Effect).Append('\n');
            if (rule.When is not null)
            {
                text.Append("    when: ").Append(Quote(rule.When.Text)).Append('\n');
            }
            if (rule.Effect == "require_approval")
            {
                text.Append("    approval: { role: operator, timeout: 30m }\n");
            }
        }
        if (rules.Count == 0)
        {
            text.Append("  []\n");
        }
        return text.ToString();
    }

    private static string Name(RiskLevel risk) => PolicySchema.RiskValues[(int)risk];
}
