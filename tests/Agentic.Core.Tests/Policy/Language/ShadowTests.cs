using Agentic.Core.Policy.Language;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>A rule that can never decide because an earlier forbid matches whenever it does is refused at load.</summary>
public sealed class ShadowTests
{
    [Fact]
    public void UnconditionalForbid_ShadowsEveryLaterRule()
    {
        var problems = Problems(PolicyOf(
            Rule("stop", "forbid"),
            Rule("r1", "permit", "tool.name == 'a'"),
            Rule("r2", "require_approval")));

        Assert.Equal(
            [
                new Diagnostic(FileName, 8, 12, DiagnosticCodes.ShadowedRule, "rule 'r1' is shadowed by earlier forbid 'stop' (line 4), which matches every request"),
                new Diagnostic(FileName, 9, 5, DiagnosticCodes.ShadowedRule, "rule 'r2' is shadowed by earlier forbid 'stop' (line 4), which matches every request"),
            ],
            problems);
    }

    [Fact]
    public void LiteralTrueForbid_ShadowsLaterRules()
    {
        var problem = Problem(PolicyOf(Rule("stop", "forbid", "true"), Rule("r1", "permit", "tool.name == 'a'")));

        Assert.Equal(new Diagnostic(FileName, 9, 12, DiagnosticCodes.ShadowedRule, "rule 'r1' is shadowed by earlier forbid 'stop' (line 4), which matches every request"), problem);
    }

    [Fact]
    public void ForbidWhoseConjunctsAreASubset_ShadowsTheLaterRule()
    {
        var problem = Problem(PolicyOf(
            Rule("no-high", "forbid", "tool.risk == 'high'"),
            Rule("r1", "permit", "tool.name == 'a' && tool.risk == 'high'")));

        Assert.Equal(new Diagnostic(FileName, 9, 12, DiagnosticCodes.ShadowedRule, "rule 'r1' is shadowed by earlier forbid 'no-high' (line 4), which matches every request that 'r1' matches"), problem);
    }

    [Theory]
    [InlineData("tool.risk in ['high', 'critical']", "tool.risk == 'critical' && context.environment == 'prod'")]
    [InlineData("tool.risk >= 'high'", "tool.risk == 'critical'")]
    [InlineData("tool.name matches 'db.*'", "tool.name == 'db.drop'")]
    [InlineData("context.budgetUsed > 100", "context.budgetUsed >= 200")]
    [InlineData("context.hour < 6 || context.hour > 22", "context.hour == 23")]
    [InlineData("context.environment != 'prod'", "context.environment == 'dev'")]
    [InlineData("args.replicas > 10", "args.replicas > 20")]
    [InlineData("args.mode in ['fast', 'reckless']", "args.mode == 'reckless' && args.force")]
    [InlineData("context.environment == 'prod'", "context.environment == 'prod' && tool.name == 'a' || context.environment == 'prod' && tool.name == 'b'")]
    [InlineData("'admin' in principal.roles", "'admin' in principal.roles && tool.name == 'x'")]
    [InlineData("tool.name == resource.target", "resource.target == tool.name && context.hour > 3")]
    public void ForbidImpliedByTheLaterCondition_ShadowsIt(string forbid, string later)
    {
        var problem = Problem(PolicyOf(Rule("f", "forbid", forbid), Rule("r1", "permit", later)));

        Assert.Equal(DiagnosticCodes.ShadowedRule, problem.Code);
        Assert.Equal("rule 'r1' is shadowed by earlier forbid 'f' (line 4), which matches every request that 'r1' matches", problem.Message);
    }

    [Fact]
    public void Forbid_ShadowedByAnEarlierForbid_IsRefusedToo()
    {
        var problem = Problem(PolicyOf(Rule("f1", "forbid", "tool.sideEffect == 'irreversible'"), Rule("f2", "forbid", "tool.sideEffect == 'irreversible' && context.environment == 'prod'")));

        Assert.Equal("rule 'f2' is shadowed by earlier forbid 'f1' (line 4), which matches every request that 'f2' matches", problem.Message);
    }

    [Theory]
    [InlineData("forbid", "tool.risk == 'high' && tool.name == 'a'", "permit", "tool.risk == 'high'")]
    [InlineData("permit", null, "forbid", "tool.name == 'a'")]
    [InlineData("require_approval", null, "permit", "tool.name == 'a'")]
    [InlineData("forbid", "context.environment == 'prod'", "permit", "context.environment == 'prod' && tool.name == 'a' || tool.name == 'c'")]
    [InlineData("forbid", "context.environment != 'prod'", "permit", "context.environment != 'dev'")]
    [InlineData("forbid", "tool.name matches 'db.*'", "permit", "tool.name matches 'db*'")]
    [InlineData("forbid", "args.replicas > 10", "permit", "!(args.replicas <= 20)")]
    [InlineData("forbid", "tool.risk >= 'high'", "permit", "tool.risk >= 'medium'")]
    public void RuleThatCanStillDecide_IsNotShadowed(string firstEffect, string? first, string secondEffect, string second)
    {
        var policy = Load(PolicyOf(Rule("first", firstEffect, first), Rule("second", secondEffect, second)));

        Assert.Equal(2, policy.Rules.Count);
    }

    [Fact]
    public void LaterForbid_DoesNotShadowAnEarlierRule()
    {
        var policy = Load(PolicyOf(Rule("r1", "permit", "tool.name == 'a'"), Rule("stop", "forbid")));

        Assert.Equal(["r1", "stop"], policy.Rules.Select(r => r.Id));
    }
}
