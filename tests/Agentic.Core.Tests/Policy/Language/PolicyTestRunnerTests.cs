using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

public sealed class PolicyTestRunnerTests
{
    private static readonly CompiledPolicy Baseline = PolicyLoader.LoadFile(PolicyFiles.Baseline);

    [Fact]
    public void ShippedBaselinePolicy_PassesItsTests_AndEveryRuleDecidesACase()
    {
        var report = PolicyTestRunner.Run(PolicyFiles.Baseline, PolicyFiles.BaselineTests);

        Assert.True(report.Passed, report.Format());
        Assert.Empty(report.UncoveredRules);
        Assert.Contains(report.Cases, c => c.ExpectedRule == PolicyDecision.DefaultDenyRule);
        Assert.Equal(Baseline.Rules.Select(r => r.Id).Append("default-deny").Order(), report.Cases.Select(c => c.ActualRule).Distinct().Order());
    }

    [Fact]
    public void ShippedBaselinePolicy_ExpressesTodaysBaseline()
    {
        Assert.Equal(("baseline", "4", PolicyMode.Enforce), (Baseline.Id, Baseline.Version, Baseline.Mode));
        Assert.Equal(
            [
                ("forbid-irreversible-in-prod", GateEffect.Forbid), ("permit-read-only", GateEffect.Permit), ("permit-http-reads", GateEffect.Permit),
                ("permit-notifications", GateEffect.Permit), ("permit-small-scale", GateEffect.Permit), ("approve-large-scale", GateEffect.RequireApproval),
                ("approve-high-risk", GateEffect.RequireApproval), ("review-high-risk-contracts", GateEffect.RequireApproval),
                ("permit-contract-intake", GateEffect.Permit),
            ],
            Baseline.Rules.Select(r => (r.Id, r.Effect)));
        Assert.Equal(new ApprovalRequirement("operator", 2, null, TimeSpan.FromMinutes(30), ApprovalTimeoutAction.Escalate, "admin"), Baseline.Rules[5].Approval);
        Assert.Equal(new ApprovalRequirement("operator", 1, null, TimeSpan.FromMinutes(30), ApprovalTimeoutAction.Reject, null), Baseline.Rules[6].Approval);
        Assert.Equal(new ApprovalRequirement("reviewer", 1, null, TimeSpan.FromHours(24), ApprovalTimeoutAction.Reject, null), Baseline.Rules[7].Approval);
    }

    [Fact]
    public void ReadmeExamples_LoadAndPass()
    {
        var readme = File.ReadAllText(Path.Combine(PolicyFiles.Root, "policies", "README.md"));
        var blocks = readme.Split("```yaml\n").Skip(1).Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)]).ToList();

        var policy = PolicyLoader.Load(blocks[0], "README.md");
        var report = PolicyTestRunner.Run(policy, blocks[1], "README.md");

        Assert.True(report.Passed, report.Format());
        Assert.Equal(2, policy.Rules.Count);
    }

    [Fact]
    public void TestsPathFor_IsBesideThePolicy()
    {
        Assert.Equal(Path.Combine("policies", "baseline.tests.yaml"), PolicyTestRunner.TestsPathFor(Path.Combine("policies", "baseline.yaml")));
    }

    [Fact]
    public void FailingCase_SaysWhatWasExpectedAndWhatHappened()
    {
        var tests = """
            cases:
              - name: scale is permitted
                request:
                  tool: { name: sample.scale, risk: medium, sideEffect: reversible }
                effect: permit
                rule: permit-read-only
            """;

        var report = PolicyTestRunner.Run(Baseline, tests, "t.tests.yaml");

        var result = Assert.Single(report.Cases);
        Assert.False(report.Passed);
        Assert.Equal(new PolicyTestCaseResult("scale is permitted", 2, false, GateEffect.Permit, "permit-read-only", GateEffect.Forbid, "default-deny",
            "expected permit by rule 'permit-read-only', got forbid by rule 'default-deny' (line 2)"), result);
        Assert.Equal(["forbid-irreversible-in-prod", "permit-http-reads", "permit-notifications", "permit-small-scale", "approve-large-scale", "approve-high-risk", "review-high-risk-contracts", "permit-contract-intake"], report.UncoveredRules);
        Assert.Contains("  FAIL  scale is permitted: expected permit by rule 'permit-read-only', got forbid by rule 'default-deny' (line 2)", report.Format(), StringComparison.Ordinal);
        Assert.Contains("0 passed, 1 failed (t.tests.yaml)", report.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void Request_MergesDefaults_SectionBySection()
    {
        var tests = """
            defaults:
              principal: { id: bob, roles: [admin] }
              context: { environment: prod, hour: 3 }
              args: { mode: safe }
            cases:
              - name: night in staging
                request:
                  tool: { name: t, risk: low, sideEffect: reversible }
                  context: { environment: staging }
                effect: permit
                rule: night
              - name: own args replace the defaults
                request:
                  tool: { name: t, risk: low, sideEffect: reversible }
                  args: { other: 1 }
                effect: forbid
                rule: default-deny
            """;
        var policy = Load(PolicyOf(Rule("night", "permit", "principal.id == 'bob' && 'admin' in principal.roles && context.hour == 3 && context.environment == 'staging' && resource.environment == 'staging' && args.mode == 'safe'")));

        var report = PolicyTestRunner.Run(policy, tests, "t.tests.yaml");

        Assert.True(report.Passed, report.Format());
    }

    [Fact]
    public void ArgsInTests_FollowYamlTypes()
    {
        var tests = """
            cases:
              - name: typed
                request:
                  tool: { name: t, risk: low, sideEffect: read-only }
                  args: { n: 3, f: 2.5, b: true, s: "3", q: 'yes', none: null, list: [1, two], nested: { k: v } }
                effect: permit
                rule: typed
            """;
        var policy = Load(PolicyOf(Rule("typed", "permit", "args.n == 3 && args.f > 2 && args.b && args.s == '3' && args.q == 'yes' && args.none != 0 && 1 in args.list && 'two' in args.list && args.nested.k == 'v'")));

        Assert.True(PolicyTestRunner.Run(policy, tests, "t.tests.yaml").Passed);
    }

    [Fact]
    public void AssessmentInTests_IsWhatTheToolsServiceAnswered_DefaultsApply_AndAMappingIsRequired()
    {
        var tests = """
            defaults:
              assessment: { riskBand: low }
            cases:
              - name: high
                request:
                  tool: { name: t, risk: low, sideEffect: reversible }
                  assessment: { riskScore: 75, riskBand: high }
                effect: require_approval
                rule: review
              - name: inherited
                request:
                  tool: { name: t, risk: low, sideEffect: reversible }
                effect: permit
                rule: low
            """;
        var policy = Load(PolicyOf(Rule("review", "require_approval", "assessment.riskBand == 'high' && assessment.riskScore >= 60"), Rule("low", "permit", "assessment.riskBand == 'low'")));

        Assert.True(PolicyTestRunner.Run(policy, tests, "t.tests.yaml").Passed);
        var bad = PolicyTestRunner.Run(policy, tests.Replace("assessment: { riskScore: 75, riskBand: high }", "assessment: high", StringComparison.Ordinal), "t.tests.yaml");
        Assert.Equal(new Diagnostic("t.tests.yaml", 7, 19, DiagnosticCodes.InvalidValue, "'assessment' in the request of case 'high' must be a mapping"), Assert.Single(bad.Diagnostics));
    }

    [Fact]
    public void BadTestFile_IsReported_AndNoCaseRuns()
    {
        var tests = """
            cases:
              - name: a
                request:
                  tool: { name: t, risk: extreme, sideEffect: read-only }
                  context: { hour: 24 }
                effect: allow
                rule: x
                expect: nothing
              - name: b
                request:
                  tool: { name: t }
                effect: forbid
                rule: default-deny
            """;

        var report = PolicyTestRunner.Run(Baseline, tests, "t.tests.yaml");

        Assert.False(report.Passed);
        Assert.Empty(report.Cases);
        Assert.Equal(
            [
                new Diagnostic("t.tests.yaml", 4, 30, DiagnosticCodes.InvalidValue, "invalid tool.risk 'extreme' in case 'a' (expected one of: low, medium, high, critical)"),
                new Diagnostic("t.tests.yaml", 5, 24, DiagnosticCodes.InvalidValue, "'hour' in context of case 'a' must be a whole number from 0 to 23"),
                new Diagnostic("t.tests.yaml", 6, 13, DiagnosticCodes.InvalidEffect, "invalid effect 'allow' in case 'a' (expected permit, forbid or require_approval)"),
                new Diagnostic("t.tests.yaml", 8, 5, DiagnosticCodes.UnknownKey, "unknown key 'expect' in case 'a' (did you mean 'effect'?)"),
                new Diagnostic("t.tests.yaml", 11, 7, DiagnosticCodes.MissingKey, "missing required key 'tool.risk' in the request of case 'b'"),
                new Diagnostic("t.tests.yaml", 11, 7, DiagnosticCodes.MissingKey, "missing required key 'tool.sideEffect' in the request of case 'b'"),
            ],
            report.Diagnostics);
        Assert.EndsWith("6 problem(s); no case ran." + Environment.NewLine, report.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyThatDoesNotLoad_IsReported()
    {
        var dir = Directory.CreateTempSubdirectory("policy-test-");
        try
        {
            var policy = Path.Combine(dir.FullName, "bad.yaml");
            File.WriteAllText(policy, "id: bad\nversion: \"1\"\nrules:\n  - id: r1\n    effect: allow\n");

            var report = PolicyTestRunner.Run(policy, PolicyTestRunner.TestsPathFor(policy));

            Assert.False(report.Passed);
            Assert.Equal([new Diagnostic(policy, 5, 13, DiagnosticCodes.InvalidEffect, "invalid effect 'allow' in rule 'r1' (expected permit, forbid or require_approval)")], report.Diagnostics);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void MissingTestFile_IsReported()
    {
        var tests = Path.Combine(Path.GetTempPath(), "none-" + Guid.NewGuid().ToString("n") + ".tests.yaml");

        var report = PolicyTestRunner.Run(PolicyFiles.Baseline, tests);

        Assert.Equal([new Diagnostic(tests, 1, 1, DiagnosticCodes.FileNotFound, $"test file '{tests}' does not exist")], report.Diagnostics);
        Assert.False(report.Passed);
    }

    [Fact]
    public void TestFileWithoutCases_DoesNotPass()
    {
        var report = PolicyTestRunner.Run(Baseline, "cases: []\n", "t.tests.yaml");

        Assert.Empty(report.Diagnostics);
        Assert.False(report.Passed);
    }
}
