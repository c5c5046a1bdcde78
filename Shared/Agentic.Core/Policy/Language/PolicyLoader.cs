using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Agentic.Core.Agents;
using Agentic.Core.Json;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Policy.Language;

/// <summary>
/// Loads YAML policy documents: parses them, type-checks and analyses every condition, and compiles the result.
/// Any problem fails the load with every diagnostic found (file, line, column, code, message).
/// </summary>
/// <remarks>
/// <code>
/// id: baseline              # required
/// version: "2"              # required
/// mode: enforce             # or shadow (log-only); default enforce
/// description: ...          # optional
/// rules:                    # required, in priority order within each effect
///   - id: approve-high-risk
///     effect: require_approval          # permit | forbid | require_approval
///     when: tool.risk in ['high', 'critical'] &amp;&amp; tool.sideEffect != 'read-only'   # optional: absent = always
///     description: ...                  # optional, becomes the decision's reason
///     approval:                         # required for require_approval, refused otherwise
///       role: operator                  # required
///       quorum: 2                       # distinct approvers, or "2 of 3"; default 1
///       timeout: 30m                    # required: d, h, m, s (e.g. 1h30m)
///       onTimeout: reject               # or escalate:&lt;role&gt;; never permit
/// </code>
/// </remarks>
public static class PolicyLoader
{
    private static readonly string[] PolicyKeys = ["id", "version", "mode", "description", "rules"];
    private static readonly string[] PolicyRequired = ["id", "version", "rules"];
    private static readonly string[] RuleKeys = ["id", "effect", "when", "description", "approval"];
    private static readonly string[] RuleRequired = ["id", "effect"];
    private static readonly string[] ApprovalKeys = ["role", "quorum", "timeout", "onTimeout"];
    private static readonly string[] ApprovalRequired = ["timeout"];
    private static readonly string[] Effects = ["permit", "forbid", "require_approval"];
    private static readonly string[] PermittingOutcomes = ["permit", "permitted", "approve", "approved", "allow", "allowed", "accept", "grant", "proceed"];

    /// <summary>Loads the policy at <paramref name="path"/>; diagnostics name the path as given.</summary>
    /// <exception cref="PolicyLoadException">The policy has problems.</exception>
    public static CompiledPolicy LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new PolicyLoadException([new Diagnostic(path, 1, 1, DiagnosticCodes.FileNotFound, $"policy file '{path}' does not exist")]);
        }
        return Load(File.ReadAllText(path), path);
    }

    /// <summary>Loads a policy from its YAML text; <paramref name="file"/> names it in diagnostics and <see cref="CompiledPolicy.Source"/>.</summary>
    /// <exception cref="PolicyLoadException">The policy has problems.</exception>
    public static CompiledPolicy Load(string yaml, string file) => Load(yaml, file, analyze: true);

    /// <summary>Loads a policy, answering its diagnostics instead of throwing.</summary>
    public static bool TryLoad(string yaml, string file, [NotNullWhen(true)] out CompiledPolicy? policy, out IReadOnlyList<Diagnostic> diagnostics)
    {
        try
        {
            policy = Load(yaml, file);
            diagnostics = [];
            return true;
        }
        catch (PolicyLoadException ex)
        {
            policy = null;
            diagnostics = ex.Diagnostics;
            return false;
        }
    }

    /// <summary>
    /// <paramref name="analyze"/> false skips the unreachable and shadowed checks (never for production loads:
    /// property tests use it to compile arbitrary generated policies).
    /// </summary>
    internal static CompiledPolicy Load(string yaml, string file, bool analyze, int indexMinRules = CompiledPolicy.DefaultIndexMinRules)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(file);
        var source = new YamlSource(file, yaml);
        var root = source.Parse("a policy with id, version and rules");
        var members = root is null ? null : source.Mapping(root, "a policy", "the policy", PolicyKeys, PolicyRequired);
        if (members is null)
        {
            throw new PolicyLoadException(source.Sorted());
        }

        var id = Text(source, members, "id", "the policy");
        if (id is not null && !YamlSource.IsName(id))
        {
            source.Report(members["id"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid policy id '{id}' (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)");
        }
        var version = Text(source, members, "version", "the policy");
        if (version is { Length: 0 })
        {
            source.Report(members["version"].Value.Start, DiagnosticCodes.InvalidValue, "'version' in the policy must not be empty");
        }
        var mode = PolicyMode.Enforce;
        if (Text(source, members, "mode", "the policy") is { } modeText)
        {
            mode = modeText switch
            {
                "enforce" => PolicyMode.Enforce,
                "shadow" => PolicyMode.Shadow,
                _ => Invalid(source, members["mode"], $"invalid mode '{modeText}' (expected 'enforce' or 'shadow')", PolicyMode.Enforce),
            };
        }
        var description = Text(source, members, "description", "the policy");

        var rules = new List<RuleSource>();
        if (members.TryGetValue("rules", out var rulesMember))
        {
            if (rulesMember.Value is YamlSequenceNode sequence)
            {
                var index = 0;
                foreach (var node in sequence.Children)
                {
                    if (ReadRule(source, node, ++index) is { } rule)
                    {
                        rules.Add(rule);
                    }
                }
            }
            else if (rulesMember.Value is not YamlScalarNode { Value: null or "" })
            {
                source.Report(rulesMember.Value.Start, DiagnosticCodes.InvalidValue, "'rules' in the policy must be a list of rules");
            }
        }

        var seen = new Dictionary<string, RuleSource>(StringComparer.Ordinal);
        foreach (var rule in rules.Where(r => r.Id is not null))
        {
            if (!seen.TryAdd(rule.Id!, rule))
            {
                source.Report(rule.IdNode!.Start, DiagnosticCodes.DuplicateRuleId, $"duplicate rule id '{rule.Id}' (first defined at line {YamlSource.Line(seen[rule.Id!].IdNode!)})");
            }
        }
        if (analyze)
        {
            Analyze(source, rules);
        }
        if (source.HasErrors || id is null || version is null)
        {
            throw new PolicyLoadException(source.Sorted());
        }

        var identity = new CompiledPolicyIdentity(id, version, AgenticJson.Digest(yaml), mode, description);
        var model = rules.Select(r => new PolicyRule(r.Id!, r.Effect, r.When, r.Description, r.Approval, YamlSource.Line(r.Node), YamlSource.Column(r.Node))).ToList();
        var conditions = rules.Select(r => r.Condition is null ? ConditionCompiler.Always : ConditionCompiler.Compile(r.Condition)).ToList();
        var toolNames = rules.Select(r => ConditionCompiler.ToolNames(r.Condition)).ToList();
        return new CompiledPolicy(identity, file, model, conditions, toolNames, indexMinRules, [.. rules.Select(r => r.Condition)]);
    }

    /// <summary>A rule as read, with what the checks and the compiler need.</summary>
    private sealed class RuleSource(YamlNode node)
    {
        public YamlNode Node { get; } = node;
        public string? Id { get; set; }
        public YamlScalarNode? IdNode { get; set; }
        public string Name { get; set; } = "";
        public GateEffect Effect { get; set; }
        public bool Valid { get; set; } = true;
        public string? When { get; set; }
        public YamlScalarNode? WhenNode { get; set; }
        public Expr? Condition { get; set; }
        public bool ConditionValid { get; set; } = true;
        public List<ConditionProblem> UnknownValues { get; } = [];
        public string? Description { get; set; }
        public ApprovalRequirement? Approval { get; set; }
    }

    private static RuleSource? ReadRule(YamlSource source, YamlNode node, int index)
    {
        var where = $"rule #{index}";
        if (node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode("id"), out var idValue)
            && idValue is YamlScalarNode { Value: { } idText } && YamlSource.IsName(idText))
        {
            where = $"rule '{idText}'";
        }
        var members = source.Mapping(node, where, where, RuleKeys, RuleRequired);
        if (members is null)
        {
            return null;
        }
        var rule = new RuleSource(node) { Name = where };
        var before = source.Diagnostics.Count;

        if (members.TryGetValue("id", out var idMember) && Text(source, members, "id", where) is { } id)
        {
            if (!YamlSource.IsName(id))
            {
                source.Report(idMember.Value.Start, DiagnosticCodes.InvalidValue, $"invalid rule id '{id}' (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)");
            }
            else if (id == PolicyDecision.DefaultDenyRule)
            {
                source.Report(idMember.Value.Start, DiagnosticCodes.InvalidValue, $"rule id '{id}' is reserved for the decision when no rule matches");
            }
            else
            {
                rule.Id = id;
                rule.IdNode = (YamlScalarNode)idMember.Value;
            }
        }

        if (Text(source, members, "effect", where) is { } effectText)
        {
            if (PolicyEffects.TryParse(effectText, out var effect))
            {
                rule.Effect = effect;
            }
            else
            {
                var nearest = PolicySchema.Nearest(effectText, Effects);
                source.Report(members["effect"].Value.Start, DiagnosticCodes.InvalidEffect, nearest is not null
                    ? $"invalid effect '{effectText}' in {where} (did you mean '{nearest}'?)"
                    : $"invalid effect '{effectText}' in {where} (expected permit, forbid or require_approval)");
                rule.Valid = false;
            }
        }
        else
        {
            rule.Valid = false;
        }

        rule.Description = Text(source, members, "description", where);

        if (members.TryGetValue("approval", out var approvalMember))
        {
            if (rule.Valid && rule.Effect != GateEffect.RequireApproval)
            {
                source.Report(approvalMember.Key.Start, DiagnosticCodes.InvalidValue, $"{where} has an approval but its effect is {PolicyEffects.Name(rule.Effect)} (only require_approval rules have one)");
            }
            else
            {
                rule.Approval = ReadApproval(source, approvalMember, where);
            }
        }
        else if (rule.Valid && rule.Effect == GateEffect.RequireApproval)
        {
            source.Report(members["effect"].Value.Start, DiagnosticCodes.MissingApproval, $"{where} has effect require_approval but no approval.role");
        }

        if (members.TryGetValue("when", out var whenMember) && Text(source, members, "when", where) is { } when)
        {
            rule.When = when;
            rule.WhenNode = (YamlScalarNode)whenMember.Value;
            ReadCondition(source, rule);
        }
        rule.Valid &= source.Diagnostics.Count == before;
        return rule;
    }

    private static void ReadCondition(YamlSource source, RuleSource rule)
    {
        var text = rule.When!;
        try
        {
            rule.Condition = Parser.Parse(text);
        }
        catch (ConditionSyntaxException ex)
        {
            Report(source, rule, ex.Offset, DiagnosticCodes.SyntaxError, ex.Message);
            rule.ConditionValid = false;
            return;
        }
        var checker = ConditionChecker.Check(rule.Condition, text);
        foreach (var problem in checker.Errors)
        {
            Report(source, rule, problem.Offset, problem.Code, problem.Message);
        }
        rule.ConditionValid = checker.Errors.Count == 0;
        rule.UnknownValues.AddRange(checker.UnknownValues);
    }

    private static void Report(YamlSource source, RuleSource rule, int offset, string code, string message)
    {
        var (line, column) = source.Locate(rule.WhenNode!, offset);
        source.Report(line, column, code, message);
    }

    /// <summary>Unreachable rules, rules shadowed by an earlier forbid, and values an enum attribute never takes.</summary>
    private static void Analyze(YamlSource source, List<RuleSource> rules)
    {
        var analysed = new List<(RuleSource Rule, ConditionAnalysis Analysis)>();
        foreach (var rule in rules)
        {
            if (!rule.Valid || rule.Id is null)
            {
                continue;
            }
            var analysis = ConditionAnalysis.Analyze(rule.Condition, rule.When ?? "");
            if (analysis.Unreachable is { } reason)
            {
                Report(source, rule, reason.Offset, DiagnosticCodes.UnreachableRule, $"rule '{rule.Id}' can never match: {reason.Message}");
                continue;
            }
            foreach (var (earlier, earlierAnalysis) in analysed)
            {
                if (earlier.Effect == GateEffect.Forbid && earlierAnalysis.Covers(analysis))
                {
                    var which = earlierAnalysis.AlwaysTrue ? "which matches every request" : $"which matches every request that '{rule.Id}' matches";
                    var message = $"rule '{rule.Id}' is shadowed by earlier forbid '{earlier.Id}' (line {YamlSource.Line(earlier.Node)}), {which}";
                    if (rule.WhenNode is not null)
                    {
                        Report(source, rule, 0, DiagnosticCodes.ShadowedRule, message);
                    }
                    else
                    {
                        source.Report(rule.Node.Start, DiagnosticCodes.ShadowedRule, message);
                    }
                    break;
                }
            }
            foreach (var problem in rule.UnknownValues)
            {
                Report(source, rule, problem.Offset, problem.Code, problem.Message);
            }
            analysed.Add((rule, analysis));
        }
    }

    private static ApprovalRequirement? ReadApproval(YamlSource source, Member member, string where)
    {
        var approvalWhere = "the approval of " + where;
        var members = source.Mapping(member.Value, $"'approval' in {where}", approvalWhere, ApprovalKeys, ApprovalRequired);
        if (members is null)
        {
            return null;
        }
        var role = Text(source, members, "role", approvalWhere);
        if (!members.TryGetValue("role", out var roleMember))
        {
            source.Report(member.Value.Start, DiagnosticCodes.MissingApproval, $"{where} has effect require_approval but no approval.role");
        }
        else if (role is not null && !YamlSource.IsName(role))
        {
            source.Report(roleMember.Value.Start, DiagnosticCodes.InvalidValue, $"invalid role '{role}' in {approvalWhere} (use letters, digits, '.', '_', ':' and '-', starting with a letter or digit)");
            role = null;
        }

        var (quorum, quorumOf) = (1, (int?)null);
        if (Text(source, members, "quorum", approvalWhere) is { } quorumText)
        {
            if (ParseQuorum(quorumText) is { } parsed)
            {
                (quorum, quorumOf) = parsed;
            }
            else
            {
                source.Report(members["quorum"].Value.Start, DiagnosticCodes.InvalidValue, $"invalid quorum '{quorumText}' in {where} (expected a number of distinct approvers from 1 to 100, e.g. 2, or 'n of m')");
            }
        }

        TimeSpan? timeout = null;
        if (Text(source, members, "timeout", approvalWhere) is { } timeoutText)
        {
            timeout = ParseDuration(timeoutText);
            if (timeout is null)
            {
                source.Report(members["timeout"].Value.Start, DiagnosticCodes.InvalidDuration, $"invalid duration '{timeoutText}' for approval.timeout in {where} (use a positive number of days, hours, minutes and seconds, e.g. '30m', '1h30m' or '2d')");
            }
        }

        var (onTimeout, escalateTo) = (ApprovalTimeoutAction.Reject, (string?)null);
        if (Text(source, members, "onTimeout", approvalWhere) is { } outcome)
        {
            const string escalate = "escalate:";
            if (outcome == "reject")
            {
                onTimeout = ApprovalTimeoutAction.Reject;
            }
            else if (outcome.StartsWith(escalate, StringComparison.Ordinal) && YamlSource.IsName(outcome[escalate.Length..]))
            {
                (onTimeout, escalateTo) = (ApprovalTimeoutAction.Escalate, outcome[escalate.Length..]);
            }
            else if (PermittingOutcomes.Contains(outcome.ToLowerInvariant(), StringComparer.Ordinal))
            {
                source.Report(members["onTimeout"].Value.Start, DiagnosticCodes.InvalidOnTimeout, $"approval.onTimeout of {where} is '{outcome}', but a timeout never permits (use 'reject' or 'escalate:<role>')");
            }
            else
            {
                source.Report(members["onTimeout"].Value.Start, DiagnosticCodes.InvalidOnTimeout, $"invalid approval.onTimeout '{outcome}' in {where} (expected 'reject' or 'escalate:<role>')");
            }
        }
        return role is null || timeout is null ? null : new ApprovalRequirement(role, quorum, quorumOf, timeout.Value, onTimeout, escalateTo);
    }

    /// <summary><c>2</c> or <c>2 of 3</c>: 1 &lt;= n &lt;= m &lt;= 100.</summary>
    internal static (int N, int? Of)? ParseQuorum(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 1 && Count(parts[0]) is { } n)
        {
            return (n, null);
        }
        if (parts.Length == 3 && parts[1] == "of" && Count(parts[0]) is { } required && Count(parts[2]) is { } of && required <= of)
        {
            return (required, of);
        }
        return null;

        static int? Count(string s) => s.Length <= 3 && s.All(char.IsAsciiDigit) && int.Parse(s, CultureInfo.InvariantCulture) is var v and >= 1 and <= 100 ? v : null;
    }

    /// <summary>A positive duration written as days, hours, minutes and seconds in that order, each at most once: <c>1h30m</c>.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        var units = "dhms";
        var total = TimeSpan.Zero;
        var next = 0;
        var i = 0;
        if (text.Length == 0)
        {
            return null;
        }
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
            if (i == start || i - start > 6 || i >= text.Length)
            {
                return null;
            }
            var unit = units.IndexOf(text[i], next);
            if (unit < 0)
            {
                return null;
            }
            var amount = int.Parse(text.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            total += unit switch
            {
                0 => TimeSpan.FromDays(amount),
                1 => TimeSpan.FromHours(amount),
                2 => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromSeconds(amount),
            };
            next = unit + 1;
            i++;
        }
        return total > TimeSpan.Zero ? total : null;
    }

    private static string? Text(YamlSource source, Dictionary<string, Member> members, string key, string where) =>
        members.TryGetValue(key, out var member) ? source.Scalar(member, where) : null;

    private static T Invalid<T>(YamlSource source, Member member, string message, T fallback)
    {
        source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, message);
        return fallback;
    }
}
