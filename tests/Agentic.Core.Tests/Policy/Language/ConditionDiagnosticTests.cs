using Agentic.Core.Policy.Language;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>Every load-time diagnostic of a condition, with its exact message and position (conditions start at 6:11).</summary>
public sealed class ConditionDiagnosticTests
{
    [Theory]
    [InlineData("tool.name = 'a'", 21, "syntax error: '=' is not an operator (use '==')")]
    [InlineData("tool.name == 'a' and tool.risk == 'high'", 28, "syntax error: 'and' is not an operator (use '&&')")]
    [InlineData("(tool.name == 'a'", 28, "syntax error: unexpected end of condition, expected ')'")]
    [InlineData("tool.name == $x", 24, "syntax error: unexpected character '$'")]
    [InlineData("tool.name in ['a' 'b']", 29, "syntax error: unexpected ''b'', expected ',' or ']'")]
    public void SyntaxError_NamesTheColumnOfTheOffendingToken(string when, int column, string message)
    {
        var problem = Problem(OneRule(when));

        Assert.Equal(new Diagnostic(FileName, 6, column, DiagnosticCodes.SyntaxError, message), problem);
    }

    [Fact]
    public void SyntaxError_InAQuotedCondition_CountsTheQuote()
    {
        var problem = Problem(OneRule("\"tool.name == 'a' && && x\""));

        Assert.Equal(new Diagnostic(FileName, 6, 32, DiagnosticCodes.SyntaxError, "syntax error: unexpected '&&', expected an attribute, a literal, '(' or '['"), problem);
    }

    [Fact]
    public void SyntaxError_InABlockCondition_IsOnItsOwnLine()
    {
        var yaml = "id: p\nversion: \"1\"\nrules:\n  - id: r1\n    effect: permit\n    when: |\n      tool.name == 'a' &&\n        context.hour >> 3\n";

        var problem = Problem(yaml);

        Assert.Equal(new Diagnostic(FileName, 8, 23, DiagnosticCodes.SyntaxError, "syntax error: unexpected '>', expected an attribute, a literal, '(' or '['"), problem);
    }

    [Fact]
    public void SyntaxError_AfterAnEscapedLineBreak_KeepsItsColumn()
    {
        var yaml = "id: p\nversion: \"1\"\nrules:\n  - id: r1\n    effect: permit\n    when: \"tool.name == 'a' &&\\n  (context.hour > 'x')\"\n";

        var problem = Problem(yaml);

        Assert.Equal(new Diagnostic(FileName, 6, 51, DiagnosticCodes.TypeMismatch, "type mismatch: cannot compare context.hour (number) with 'x' (string)"), problem);
    }

    [Theory]
    [InlineData("tool.riks == 'high'", 11, "unknown attribute 'tool.riks' (did you mean 'tool.risk'?)")]
    [InlineData("tool.name == 'a' && context.budget > 3", 31, "unknown attribute 'context.budget' (did you mean 'context.budgetUsed'?)")]
    [InlineData("principal.role == 'x'", 11, "unknown attribute 'principal.role' (did you mean 'principal.roles'?)")]
    [InlineData("foo.bar == 1", 11, "unknown attribute 'foo.bar' (attributes start with principal., agent., tool., args., assessment., resource. or context.)")]
    [InlineData("args == 1", 11, "unknown attribute 'args' (name an argument, e.g. 'args.target')")]
    public void UnknownAttribute_SuggestsTheNearest(string when, int column, string message)
    {
        var problem = Problem(OneRule(when));

        Assert.Equal(new Diagnostic(FileName, 6, column, DiagnosticCodes.UnknownAttribute, message), problem);
    }

    [Fact]
    public void UnknownAttributes_AreAllReported()
    {
        var problems = Problems(OneRule("tool.nme == 'a' || tool.riks == 'high'"));

        Assert.Equal(
            [
                new Diagnostic(FileName, 6, 11, DiagnosticCodes.UnknownAttribute, "unknown attribute 'tool.nme' (did you mean 'tool.name'?)"),
                new Diagnostic(FileName, 6, 30, DiagnosticCodes.UnknownAttribute, "unknown attribute 'tool.riks' (did you mean 'tool.risk'?)"),
            ],
            problems);
    }

    [Theory]
    [InlineData("context.hour == 'noon'", 27, "type mismatch: cannot compare context.hour (number) with 'noon' (string)")]
    [InlineData("'noon' == context.hour", 11, "type mismatch: cannot compare 'noon' (string) with context.hour (number)")]
    [InlineData("tool.risk == 3", 24, "type mismatch: cannot compare tool.risk (string) with 3 (number)")]
    [InlineData("args.force == [true]", 25, "type mismatch: '==' can not compare lists (use 'in')")]
    [InlineData("tool.name", 11, "type mismatch: a condition must be a bool, but tool.name is a string")]
    [InlineData("context.hour", 11, "type mismatch: a condition must be a bool, but context.hour is a number")]
    [InlineData("tool.name < 'b'", 11, "type mismatch: '<' needs numbers or an ordered attribute, but tool.name is a string")]
    [InlineData("context.environment >= 'prod'", 11, "type mismatch: '>=' needs numbers or an ordered attribute, but context.environment is a string")]
    [InlineData("args.size > 'big'", 23, "type mismatch: '>' needs numbers or an ordered attribute, but 'big' is a string")]
    [InlineData("tool.name in 'abc'", 24, "type mismatch: the right side of 'in' must be a list, but 'abc' is a string")]
    [InlineData("principal.roles in ['a']", 11, "type mismatch: the left side of 'in' must be a single value, but principal.roles is a list<string>")]
    [InlineData("context.hour in ['a', 'b']", 27, "type mismatch: cannot look for context.hour (number) in ['a', 'b'] (list<string>)")]
    [InlineData("3 in principal.roles", 16, "type mismatch: cannot look for 3 (number) in principal.roles (list<string>)")]
    [InlineData("tool.name matches tool.version", 29, "type mismatch: the right side of 'matches' must be a string literal pattern")]
    [InlineData("context.hour matches '1*'", 11, "type mismatch: 'matches' needs a string on the left, but context.hour is a number")]
    [InlineData("tool.name && true", 11, "type mismatch: '&&' needs bool operands, but tool.name is a string")]
    [InlineData("true || context.hour", 19, "type mismatch: '||' needs bool operands, but context.hour is a number")]
    [InlineData("!context.hour", 12, "type mismatch: '!' needs bool operands, but context.hour is a number")]
    [InlineData("tool.name in ['a', 1]", 30, "type mismatch: list items must all have the same type, but 1 is a number and 'a' is a string")]
    [InlineData("principal.roles == 'x'", 11, "type mismatch: '==' can not compare lists (use 'in')")]
    public void TypeMismatch_IsReportedWhereItIs(string when, int column, string message)
    {
        var problem = Problem(OneRule(Quote(when)));

        Assert.Equal(new Diagnostic(FileName, 6, column + 1, DiagnosticCodes.TypeMismatch, message), problem);
    }

    [Theory]
    [InlineData("tool.risk == 'extreme'", 24, "rule 'r1' can never match: 'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("'extreme' == tool.risk", 11, "rule 'r1' can never match: 'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("context.environment == 'production'", 34, "rule 'r1' can never match: 'production' is not a value of context.environment (dev, test, staging, prod)")]
    [InlineData("tool.risk in ['extreme']", 24, "rule 'r1' can never match: 'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("tool.risk in ['severe', 'extreme']", 24, "rule 'r1' can never match: none of 'extreme', 'severe' is a value of tool.risk (low, medium, high, critical)")]
    [InlineData("tool.sideEffect matches 'write*'", 35, "rule 'r1' can never match: no value of tool.sideEffect matches 'write*' (read-only, reversible, irreversible)")]
    [InlineData("tool.name == 'a' && tool.name == 'b'", 31, "rule 'r1' can never match: tool.name == 'a' and tool.name == 'b' can not both hold")]
    [InlineData("context.hour == 1 && context.hour == 2", 32, "rule 'r1' can never match: context.hour == 1 and context.hour == 2 can not both hold")]
    [InlineData("tool.name == 'a' && tool.name != 'a'", 31, "rule 'r1' can never match: tool.name == 'a' and tool.name != 'a' can not both hold")]
    [InlineData("tool.name == 'a' && !(tool.name == 'a')", 31, "rule 'r1' can never match: tool.name == 'a' and !(tool.name == 'a') can not both hold")]
    [InlineData("context.hour < 8 && context.hour > 20", 31, "rule 'r1' can never match: context.hour < 8 and context.hour > 20 can not both hold")]
    [InlineData("tool.risk in ['low', 'medium'] && tool.risk >= 'high'", 45, "rule 'r1' can never match: tool.risk in ['low', 'medium'] and tool.risk >= 'high' can not both hold")]
    [InlineData("tool.name in ['a', 'b'] && tool.name == 'c'", 38, "rule 'r1' can never match: tool.name in ['a', 'b'] and tool.name == 'c' can not both hold")]
    [InlineData("tool.name == 'db.drop' && !(tool.name matches 'db.*')", 37, "rule 'r1' can never match: tool.name == 'db.drop' and !(tool.name matches 'db.*') can not both hold")]
    [InlineData("args.count > 5 && args.count matches 'a*'", 29, "rule 'r1' can never match: args.count > 5 and args.count matches 'a*' can not both hold")]
    [InlineData("args.mode == 'fast' && args.mode == 'slow'", 34, "rule 'r1' can never match: args.mode == 'fast' and args.mode == 'slow' can not both hold")]
    [InlineData("context.hour > 23", 11, "rule 'r1' can never match: context.hour > 23 can never hold (context.hour ranges from 0 to 23)")]
    [InlineData("context.hour == 12.5", 11, "rule 'r1' can never match: context.hour == 12.5 can never hold (context.hour ranges from 0 to 23)")]
    [InlineData("tool.name in []", 11, "rule 'r1' can never match: tool.name in [] can never hold")]
    [InlineData("false", 11, "rule 'r1' can never match: its condition is always false")]
    [InlineData("!true", 11, "rule 'r1' can never match: its condition is always false")]
    [InlineData("1 == 2", 11, "rule 'r1' can never match: its condition is always false")]
    [InlineData("tool.name == 'a' && false", 31, "rule 'r1' can never match: it requires the literal false")]
    [InlineData("tool.risk == 'extreme' || context.hour > 30", 24, "rule 'r1' can never match: 'extreme' is not a value of tool.risk (low, medium, high, critical); context.hour > 30 can never hold (context.hour ranges from 0 to 23)")]
    public void RuleThatCanNeverMatch_IsRefusedWithTheReason(string when, int column, string message)
    {
        var problem = Problem(OneRule(Quote(when)));

        Assert.Equal(new Diagnostic(FileName, 6, column + 1, DiagnosticCodes.UnreachableRule, message), problem);
    }

    [Theory]
    [InlineData("tool.risk != 'extreme'", 24, "'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("tool.risk in ['high', 'extreme']", 33, "'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("tool.risk == 'extreme' || tool.name == 'a'", 24, "'extreme' is not a value of tool.risk (low, medium, high, critical)")]
    [InlineData("context.environment matches 'prd*' || tool.name == 'x'", 39, "no value of context.environment matches 'prd*' (dev, test, staging, prod)")]
    public void ValueAnEnumNeverTakes_InARuleThatCanStillMatch_IsRefused(string when, int column, string message)
    {
        var problem = Problem(OneRule(when));

        Assert.Equal(new Diagnostic(FileName, 6, column, DiagnosticCodes.UnknownValue, message), problem);
    }

    [Fact]
    public void ConditionTooLargeToAnalyse_StillLoads_AndEvaluates()
    {
        // 2^7 = 128 terms in normal form, past the analysis limit (64): no diagnostics, but the same semantics.
        var when = string.Join(" && ", Enumerable.Range(0, 7).Select(i => $"(args.a{i} == 1 || args.b{i} == 1)")) + " && tool.name == 'x' && tool.name == 'y'";

        var policy = Load(OneRule(Quote(when)));

        Assert.Equal("default-deny", policy.Evaluate(Request(tool: "x", args: """{"a0":1,"a1":1,"a2":1,"a3":1,"a4":1,"a5":1,"a6":1}""")).Rule);
    }

    [Theory]
    [InlineData("tool.name == 'a' || tool.name == 'b'")]
    [InlineData("context.hour >= 8 && context.hour < 20")]
    [InlineData("tool.risk >= 'high' && tool.risk != 'critical'")]
    [InlineData("context.environment != 'prod' && context.environment != 'dev' && context.environment != 'test' && context.environment != 'staging'")]
    [InlineData("args.count > 5 && args.count < 6")]
    [InlineData("args.mode == 'fast' || args.mode == 'slow'")]
    [InlineData("!(tool.name == 'a' && tool.name == 'b')")]
    [InlineData("tool.name == resource.target && tool.name != 'x'")]
    public void SatisfiableCondition_Loads(string when)
    {
        var policy = Load(OneRule(Quote(when)));

        Assert.Single(policy.Rules);
    }
}
