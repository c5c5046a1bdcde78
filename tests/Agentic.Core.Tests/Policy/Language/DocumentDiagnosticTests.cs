using Agentic.Core.Policy.Language;
using static Agentic.Core.Tests.Policy.Language.PolicyFixtures;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>Every load-time diagnostic of the YAML document, with its exact message and position.</summary>
public sealed class DocumentDiagnosticTests
{
    private static Diagnostic At(int line, int column, string code, string message) => new(FileName, line, column, code, message);

    [Fact]
    public void DuplicateRuleIds_AreRefused_NamingTheFirst()
    {
        var yaml = PolicyOf(Rule("r1", "permit", "tool.name == 'a'"), Rule("r1", "permit", "tool.name == 'b'"));

        Assert.Equal(At(7, 9, DiagnosticCodes.DuplicateRuleId, "duplicate rule id 'r1' (first defined at line 4)"), Problem(yaml));
    }

    [Fact]
    public void MissingPolicyKeys_AreEachReported()
    {
        var problems = Problems("id: p\nrules: []\n");

        Assert.Equal([At(1, 1, DiagnosticCodes.MissingKey, "missing required key 'version' in the policy")], problems);
    }

    [Fact]
    public void MissingRuleKeys_AreReportedAtTheRule()
    {
        var problems = Problems(PolicyOf("- id: r1\n  when: tool.name == 'a'", "- effect: permit"));

        Assert.Equal(
            [
                At(4, 5, DiagnosticCodes.MissingKey, "missing required key 'effect' in rule 'r1'"),
                At(6, 5, DiagnosticCodes.MissingKey, "missing required key 'id' in rule #2"),
            ],
            problems);
    }

    [Fact]
    public void UnknownKey_SuggestsTheNearest()
    {
        var problems = Problems(PolicyOf("- id: r1\n  efect: permit"));

        Assert.Equal(
            [
                At(4, 5, DiagnosticCodes.MissingKey, "missing required key 'effect' in rule 'r1'"),
                At(5, 5, DiagnosticCodes.UnknownKey, "unknown key 'efect' in rule 'r1' (did you mean 'effect'?)"),
            ],
            problems);
    }

    [Fact]
    public void UnknownKey_WithoutANearOne_ListsTheKnownKeys()
    {
        var problem = Problem(PolicyOf("- id: r1\n  effect: permit\n  priority: 3"));

        Assert.Equal(At(6, 5, DiagnosticCodes.UnknownKey, "unknown key 'priority' in rule 'r1' (expected one of: id, effect, when, description, approval)"), problem);
    }

    [Fact]
    public void UnknownTopLevelKey_IsReported()
    {
        var problems = Problems("id: p\nversion: \"1\"\nrulez: []\n");

        Assert.Equal(
            [
                At(1, 1, DiagnosticCodes.MissingKey, "missing required key 'rules' in the policy"),
                At(3, 1, DiagnosticCodes.UnknownKey, "unknown key 'rulez' in the policy (did you mean 'rules'?)"),
            ],
            problems);
    }

    [Theory]
    [InlineData("allow", "invalid effect 'allow' in rule 'r1' (expected permit, forbid or require_approval)")]
    [InlineData("require-approval", "invalid effect 'require-approval' in rule 'r1' (did you mean 'require_approval'?)")]
    [InlineData("Permit", "invalid effect 'Permit' in rule 'r1' (did you mean 'permit'?)")]
    public void BadEffect_IsRefused(string effect, string message)
    {
        Assert.Equal(At(5, 13, DiagnosticCodes.InvalidEffect, message), Problem(PolicyOf($"- id: r1\n  effect: {effect}")));
    }

    [Fact]
    public void RequireApproval_WithoutApproval_IsRefused()
    {
        var problem = Problem(PolicyOf("- id: r1\n  effect: require_approval"));

        Assert.Equal(At(5, 13, DiagnosticCodes.MissingApproval, "rule 'r1' has effect require_approval but no approval.role"), problem);
    }

    [Fact]
    public void RequireApproval_WithoutApprovalRole_IsRefused()
    {
        var problem = Problem(PolicyOf("- id: r1\n  effect: require_approval\n  approval:\n    timeout: 30m"));

        Assert.Equal(At(7, 7, DiagnosticCodes.MissingApproval, "rule 'r1' has effect require_approval but no approval.role"), problem);
    }

    [Fact]
    public void RequireApproval_WithoutTimeout_IsRefused()
    {
        var problem = Problem(PolicyOf("- id: r1\n  effect: require_approval\n  approval:\n    role: operator"));

        Assert.Equal(At(7, 7, DiagnosticCodes.MissingKey, "missing required key 'timeout' in the approval of rule 'r1'"), problem);
    }

    [Fact]
    public void Approval_OnAPermit_IsRefused()
    {
        var problem = Problem(PolicyOf("- id: r1\n  effect: permit\n  approval:\n    role: operator\n    timeout: 30m"));

        Assert.Equal(At(6, 5, DiagnosticCodes.InvalidValue, "rule 'r1' has an approval but its effect is permit (only require_approval rules have one)"), problem);
    }

    [Theory]
    [InlineData("30x")]
    [InlineData("0m")]
    [InlineData("30")]
    [InlineData("1m1h")]
    [InlineData("m")]
    [InlineData("-5m")]
    [InlineData("1h 30m")]
    public void BadDuration_IsRefused(string timeout)
    {
        var problem = Problem(PolicyOf($"- id: r1\n  effect: require_approval\n  approval:\n    role: operator\n    timeout: \"{timeout}\""));

        Assert.Equal(At(8, 16, DiagnosticCodes.InvalidDuration, $"invalid duration '{timeout}' for approval.timeout in rule 'r1' (use a positive number of days, hours, minutes and seconds, e.g. '30m', '1h30m' or '2d')"), problem);
    }

    [Theory]
    [InlineData("permit")]
    [InlineData("approve")]
    [InlineData("Allow")]
    public void OnTimeout_ThatPermits_IsRefused(string outcome)
    {
        var problem = Problem(PolicyOf($"- id: r1\n  effect: require_approval\n  approval:\n    role: operator\n    timeout: 30m\n    onTimeout: {outcome}"));

        Assert.Equal(At(9, 18, DiagnosticCodes.InvalidOnTimeout, $"approval.onTimeout of rule 'r1' is '{outcome}', but a timeout never permits (use 'reject' or 'escalate:<role>')"), problem);
    }

    [Theory]
    [InlineData("ignore")]
    [InlineData("escalate:")]
    [InlineData("escalate")]
    public void OnTimeout_Unknown_IsRefused(string outcome)
    {
        var problem = Problem(PolicyOf($"- id: r1\n  effect: require_approval\n  approval:\n    role: operator\n    timeout: 30m\n    onTimeout: \"{outcome}\""));

        Assert.Equal(At(9, 18, DiagnosticCodes.InvalidOnTimeout, $"invalid approval.onTimeout '{outcome}' in rule 'r1' (expected 'reject' or 'escalate:<role>')"), problem);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("3 of 2")]
    [InlineData("two")]
    public void BadQuorum_IsRefused(string quorum)
    {
        var problem = Problem(PolicyOf($"- id: r1\n  effect: require_approval\n  approval:\n    role: operator\n    quorum: \"{quorum}\"\n    timeout: 30m"));

        Assert.Equal(At(8, 15, DiagnosticCodes.InvalidValue, $"invalid quorum '{quorum}' in rule 'r1' (expected a number of distinct approvers from 1 to 100, e.g. 2, or 'n of m')"), problem);
    }

    [Fact]
    public void BadMode_IsRefused()
    {
        var problem = Problem("id: p\nversion: \"1\"\nmode: audit\nrules: []\n");

        Assert.Equal(At(3, 7, DiagnosticCodes.InvalidValue, "invalid mode 'audit' (expected 'enforce' or 'shadow')"), problem);
    }

    [Theory]
    [InlineData("default-deny", "rule id 'default-deny' is reserved for the decision when no rule matches")]
    [InlineData("\"has space\"", "invalid rule id 'has space' (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)")]
    [InlineData("-leading", "invalid rule id '-leading' (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)")]
    public void BadRuleId_IsRefused(string id, string message)
    {
        Assert.Equal(At(4, 9, DiagnosticCodes.InvalidValue, message), Problem(PolicyOf($"- id: {id}\n  effect: permit")));
    }

    [Fact]
    public void BadPolicyId_IsRefused()
    {
        Assert.Equal(At(1, 5, DiagnosticCodes.InvalidValue, "invalid policy id 'a/b' (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)"), Problem("id: a/b\nversion: \"1\"\nrules: []\n"));
    }

    [Fact]
    public void ConditionThatIsNotAString_IsRefused()
    {
        Assert.Equal(At(6, 11, DiagnosticCodes.InvalidValue, "'when' in rule 'r1' must be a string"), Problem(PolicyOf("- id: r1\n  effect: permit\n  when: [a]")));
    }

    [Fact]
    public void RulesThatAreNotAList_AreRefused()
    {
        Assert.Equal(At(3, 8, DiagnosticCodes.InvalidValue, "'rules' in the policy must be a list of rules"), Problem("id: p\nversion: \"1\"\nrules: 5\n"));
    }

    [Fact]
    public void RuleThatIsNotAMapping_IsRefused()
    {
        Assert.Equal(At(4, 5, DiagnosticCodes.InvalidValue, "rule #1 must be a mapping"), Problem("id: p\nversion: \"1\"\nrules:\n  - just-a-name\n"));
    }

    [Fact]
    public void InvalidYaml_IsReportedWithItsPosition()
    {
        var problem = Problem("id: p\nversion: \"1\nrules: []\n");

        Assert.Equal(DiagnosticCodes.InvalidYaml, problem.Code);
        Assert.Equal((2, 10), (problem.Line, problem.Column));
        Assert.StartsWith("invalid YAML: ", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateYamlKey_IsReported()
    {
        Assert.Equal(At(2, 1, DiagnosticCodes.DuplicateKey, "duplicate key 'id'"), Problem("id: a\nid: b\nversion: \"1\"\nrules: []\n"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    public void EmptyFile_IsRefused(string yaml)
    {
        Assert.Equal(At(1, 1, DiagnosticCodes.InvalidDocument, "the file is empty (expected a policy with id, version and rules)"), Problem(yaml));
    }

    [Fact]
    public void SeveralDocuments_AreRefused()
    {
        Assert.Equal(At(5, 1, DiagnosticCodes.InvalidDocument, "the file holds 2 YAML documents (expected one: a policy with id, version and rules)"), Problem("id: p\nversion: \"1\"\nrules: []\n---\nid: q\n"));
    }

    [Fact]
    public void DocumentThatIsNotAMapping_IsRefused()
    {
        Assert.Equal(At(1, 1, DiagnosticCodes.InvalidValue, "a policy must be a mapping"), Problem("- a\n- b\n"));
    }

    [Fact]
    public void EveryProblem_IsReported_InFileOrder()
    {
        var yaml = PolicyOf(
            Rule("r1", "permit", "tool.riks == 'high'"),
            "- id: r2\n  effect: allow",
            Rule("r1", "forbid", "context.hour == 'noon'"));

        var problems = Assert.Throws<PolicyLoadException>(() => PolicyLoader.Load(yaml, FileName)).Diagnostics;

        Assert.Equal(
            [
                At(6, 12, DiagnosticCodes.UnknownAttribute, "unknown attribute 'tool.riks' (did you mean 'tool.risk'?)"),
                At(8, 13, DiagnosticCodes.InvalidEffect, "invalid effect 'allow' in rule 'r2' (expected permit, forbid or require_approval)"),
                At(9, 9, DiagnosticCodes.DuplicateRuleId, "duplicate rule id 'r1' (first defined at line 4)"),
                At(11, 28, DiagnosticCodes.TypeMismatch, "type mismatch: cannot compare context.hour (number) with 'noon' (string)"),
            ],
            problems);
    }

    [Fact]
    public void LoadException_Message_ListsEveryDiagnostic()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.Load(PolicyOf("- id: r1\n  effect: allow", "- id: r2\n  effect: deny"), FileName));

        Assert.Equal(
            "The policy failed to load with 2 problems:" + Environment.NewLine +
            "test.yaml(5,13): invalid-effect: invalid effect 'allow' in rule 'r1' (expected permit, forbid or require_approval)" + Environment.NewLine +
            "test.yaml(7,13): invalid-effect: invalid effect 'deny' in rule 'r2' (expected permit, forbid or require_approval)",
            ex.Message);
    }

    [Fact]
    public void LoadFile_OfAMissingFile_IsADiagnostic()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-policy-" + Guid.NewGuid().ToString("n") + ".yaml");

        var problem = Assert.Single(Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadFile(path)).Diagnostics);

        Assert.Equal(new Diagnostic(path, 1, 1, DiagnosticCodes.FileNotFound, $"policy file '{path}' does not exist"), problem);
    }

    [Fact]
    public void TryLoad_AnswersDiagnosticsInsteadOfThrowing()
    {
        Assert.False(PolicyLoader.TryLoad(PolicyOf("- id: r1\n  effect: allow"), FileName, out var policy, out var diagnostics));
        Assert.Null(policy);
        Assert.Single(diagnostics);
        Assert.True(PolicyLoader.TryLoad(PolicyOf("- id: r1\n  effect: permit"), FileName, out policy, out diagnostics));
        Assert.Empty(diagnostics);
        Assert.Equal("p", policy!.Id);
    }
}
