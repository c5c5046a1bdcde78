using Agentic.Core.Agents;
using Agentic.Core.Json;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

public sealed class SemanticsTests
{
    [Fact]
    public void NoRules_DeniesByDefault()
    {
        var policy = Load("id: empty\nversion: \"3\"\nrules: []\n");

        var decision = policy.Evaluate(Request());

        Assert.Equal(GateEffect.Forbid, decision.Effect);
        Assert.Equal("default-deny", decision.Rule);
        Assert.True(decision.IsDefaultDeny);
        Assert.Equal("No rule of policy 'empty' matched (default deny).", decision.Reason);
        Assert.Null(decision.Approval);
    }

    [Fact]
    public void NoMatchingRule_DeniesByDefault()
    {
        var policy = Load(PolicyOf(Rule("r1", "permit", "tool.name == 'other'")));

        Assert.Same(policy.DefaultDeny, policy.Evaluate(Request()));
    }

    [Fact]
    public void Forbid_OverridesAnEarlierPermit()
    {
        var policy = Load(PolicyOf(Rule("allow-all", "permit"), Rule("no-prod", "forbid", "context.environment == 'prod'")));

        Assert.Equal(("no-prod", GateEffect.Forbid), Decide(policy, Request(environment: "prod")));
        Assert.Equal(("allow-all", GateEffect.Permit), Decide(policy, Request(environment: "dev")));
    }

    [Fact]
    public void Forbid_OverridesAnEarlierApproval()
    {
        var policy = Load(PolicyOf(Rule("ask", "require_approval"), Rule("no-prod", "forbid", "context.environment == 'prod'")));

        Assert.Equal(("no-prod", GateEffect.Forbid), Decide(policy, Request(environment: "prod")));
    }

    [Fact]
    public void Approval_WinsOverAnEarlierPermit()
    {
        var policy = Load(PolicyOf(Rule("reads", "permit", "tool.sideEffect == 'read-only'"), Rule("risky", "require_approval", "tool.risk >= 'high'")));

        Assert.Equal(("risky", GateEffect.RequireApproval), Decide(policy, Request(risk: RiskLevel.Critical, sideEffect: SideEffect.ReadOnly)));
        Assert.Equal(("reads", GateEffect.Permit), Decide(policy, Request(risk: RiskLevel.Low, sideEffect: SideEffect.ReadOnly)));
    }

    [Fact]
    public void WithinAnEffect_TheFirstMatchingRuleDecides()
    {
        var policy = Load(PolicyOf(
            Rule("p1", "permit", "tool.name matches 'sample.*'"),
            Rule("f1", "forbid", "context.hour < 6"),
            Rule("p2", "permit", "tool.name == 'sample.health'"),
            Rule("f2", "forbid", "context.hour < 3 || context.hour > 22")));

        Assert.Equal(("p1", GateEffect.Permit), Decide(policy, Request(hour: 12)));
        Assert.Equal(("f1", GateEffect.Forbid), Decide(policy, Request(hour: 1)));
        Assert.Equal(("f2", GateEffect.Forbid), Decide(policy, Request(hour: 23)));
    }

    [Fact]
    public void Decision_NamesThePolicy_ItsVersion_AndTheHashOfItsText()
    {
        var yaml = "id: ops\nversion: \"2024-06\"\nmode: shadow\nrules:\n  - id: r1\n    effect: permit\n    description: Health checks are harmless.\n";
        var policy = Load(yaml);

        var decision = policy.Evaluate(Request());

        Assert.Equal(("ops", "2024-06", AgenticJson.Digest(yaml), PolicyMode.Shadow), (decision.PolicyId, decision.PolicyVersion, decision.ContentHash, decision.Mode));
        Assert.Equal(("ops", "2024-06", AgenticJson.Digest(yaml), PolicyMode.Shadow), (policy.Id, policy.Version, policy.ContentHash, policy.Mode));
        Assert.Equal("Health checks are harmless.", decision.Reason);
        Assert.Equal("permit by ops@2024-06/r1", decision.ToString());
    }

    [Fact]
    public void ContentHash_ChangesWithAnyEdit()
    {
        var a = Load(PolicyOf(Rule("r1", "permit")));
        var b = Load(PolicyOf(Rule("r1", "permit")) + "# a comment\n");

        Assert.NotEqual(a.ContentHash, b.ContentHash);
        Assert.StartsWith("sha256:", a.ContentHash, StringComparison.Ordinal);
    }

    [Fact]
    public void ApprovalDecision_CarriesTheRequirement()
    {
        var policy = Load(PolicyOf("- id: ask\n  effect: require_approval\n  approval:\n    role: sre\n    quorum: 2 of 3\n    timeout: 1h30m\n    onTimeout: escalate:sre-lead"));

        var decision = policy.Evaluate(Request());

        Assert.Equal(new ApprovalRequirement("sre", 2, 3, TimeSpan.FromMinutes(90), ApprovalTimeoutAction.Escalate, "sre-lead"), decision.Approval);
        Assert.Equal("Rule 'ask' requires approval by sre.", decision.Reason);
        Assert.Equal(new Agentic.Core.Policy.PolicyResult(GateEffect.RequireApproval, "ask", "Rule 'ask' requires approval by sre.", "sre"), decision.ToResult());
    }

    [Theory]
    [InlineData("30m", 30 * 60)]
    [InlineData("90s", 90)]
    [InlineData("2d", 2 * 86400)]
    [InlineData("1d2h3m4s", 86400 + 7200 + 180 + 4)]
    public void ApprovalTimeout_ParsesDurations(string text, int seconds)
    {
        var policy = Load(PolicyOf($"- id: ask\n  effect: require_approval\n  approval:\n    role: sre\n    timeout: {text}"));

        Assert.Equal(new ApprovalRequirement("sre", 1, null, TimeSpan.FromSeconds(seconds), ApprovalTimeoutAction.Reject, null), policy.Rules[0].Approval);
    }

    [Fact]
    public void Rules_AreListedAsWritten()
    {
        var policy = Load(PolicyOf(Rule("r1", "permit", "tool.name == 'a'"), Rule("r2", "forbid")));

        Assert.Equal(
            [
                new PolicyRule("r1", GateEffect.Permit, "tool.name == 'a'", null, null, 4, 5),
                new PolicyRule("r2", GateEffect.Forbid, null, null, null, 7, 5),
            ],
            policy.Rules);
        Assert.Equal(FileName, policy.Source);
    }

    [Fact]
    public void Evaluate_OfADefaultRequest_Throws()
    {
        var policy = Load(PolicyOf(Rule("r1", "permit")));

        Assert.Throws<ArgumentException>(() => policy.Evaluate(default));
    }

    [Fact]
    public void Evaluate_IsDeterministic_SameDecisionInstanceEveryTime()
    {
        var policy = Load(File.ReadAllText(PolicyFiles.Baseline));
        var request = Request(risk: RiskLevel.High, sideEffect: SideEffect.Reversible);

        var first = policy.Evaluate(request);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(first, policy.Evaluate(request));
        }
    }

    [Fact]
    public void LargePolicy_IsIndexedByToolName_AndStillHonoursPrecedenceAndOrder()
    {
        var rules = Enumerable.Range(0, 20).Select(i => Rule($"p{i}", "permit", $"tool.name == 'svc{i}' && context.hour >= {i}")).ToList();
        rules.Add(Rule("any-night", "require_approval", "context.hour < 3"));
        rules.Add(Rule("no-prod-writes", "forbid", "tool.name in ['svc1', 'svc2'] && context.environment == 'prod'"));
        rules.Add(Rule("reads", "permit", "tool.sideEffect == 'read-only'"));
        var policy = Load(PolicyOf([.. rules]));

        Assert.True(policy.Indexed);
        Assert.Equal(("p5", GateEffect.Permit), Decide(policy, Request(tool: "svc5", hour: 10, sideEffect: SideEffect.Reversible)));
        Assert.Equal(("default-deny", GateEffect.Forbid), Decide(policy, Request(tool: "svc15", hour: 10, sideEffect: SideEffect.Reversible)));
        Assert.Equal(("any-night", GateEffect.RequireApproval), Decide(policy, Request(tool: "svc5", hour: 1)));
        Assert.Equal(("no-prod-writes", GateEffect.Forbid), Decide(policy, Request(tool: "svc2", hour: 1)));
        Assert.Equal(("p2", GateEffect.Permit), Decide(policy, Request(tool: "svc2", hour: 10, environment: "dev")));
        Assert.Equal(("reads", GateEffect.Permit), Decide(policy, Request(tool: "unknown", hour: 10)));
        Assert.Equal(("default-deny", GateEffect.Forbid), Decide(policy, Request(tool: "unknown", hour: 10, sideEffect: SideEffect.Reversible)));
    }

    private static (string Rule, GateEffect Effect) Decide(CompiledPolicy policy, PolicyRequest request)
    {
        var decision = policy.Evaluate(request);
        return (decision.Rule, decision.Effect);
    }
}

/// <summary>The shipped policy files, found from the test's output folder.</summary>
internal static class PolicyFiles
{
    public static string Root { get; } = FindRoot();

    public static string Baseline => Path.Combine(Root, "policies", "baseline.yaml");

    public static string BaselineTests => Path.Combine(Root, "policies", "baseline.tests.yaml");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "policies", "baseline.yaml")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("policies/baseline.yaml not found above " + AppContext.BaseDirectory);
    }
}
