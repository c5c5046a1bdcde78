using System.Globalization;
using System.Text;
using System.Text.Json;
using Agentic.Core.Agents;
using Agentic.Core.Tools;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Agentic.Core.Policy.Language;

/// <summary>The outcome of one policy test case.</summary>
public sealed record PolicyTestCaseResult(
    string Name,
    int Line,
    bool Passed,
    GateEffect ExpectedEffect,
    string ExpectedRule,
    GateEffect ActualEffect,
    string ActualRule,
    string Message);

/// <summary>
/// The outcome of running a policy's test file. <see cref="Diagnostics"/> holds load problems of the policy or
/// of the test file (then no case ran); <see cref="UncoveredRules"/> lists rules no case expects to decide.
/// </summary>
public sealed record PolicyTestReport(
    string PolicyPath,
    string TestsPath,
    string? PolicyId,
    string? PolicyVersion,
    string? ContentHash,
    IReadOnlyList<Diagnostic> Diagnostics,
    IReadOnlyList<PolicyTestCaseResult> Cases,
    IReadOnlyList<string> UncoveredRules)
{
    /// <summary>Whether everything loaded, there was at least one case, and every case passed.</summary>
    public bool Passed => Diagnostics.Count == 0 && Cases.Count > 0 && Cases.All(c => c.Passed);

    /// <summary>How many cases passed.</summary>
    public int PassedCount => Cases.Count(c => c.Passed);

    /// <summary>How many cases failed.</summary>
    public int FailedCount => Cases.Count(c => !c.Passed);

    /// <summary>The report as text for a terminal: one line per case, then a summary.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        if (Diagnostics.Count > 0)
        {
            foreach (var diagnostic in Diagnostics)
            {
                text.AppendLine(diagnostic.ToString());
            }
            text.Append(CultureInfo.InvariantCulture, $"{Diagnostics.Count} problem(s); no case ran.").AppendLine();
            return text.ToString();
        }
        text.Append(CultureInfo.InvariantCulture, $"policy {PolicyId}@{PolicyVersion} ({PolicyPath}, {ContentHash})").AppendLine();
        foreach (var result in Cases)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {(result.Passed ? "PASS" : "FAIL")}  {result.Name}: {result.Message}").AppendLine();
        }
        text.Append(CultureInfo.InvariantCulture, $"{PassedCount} passed, {FailedCount} failed ({TestsPath})").AppendLine();
        if (UncoveredRules.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"rules no case expects: {string.Join(", ", UncoveredRules)}").AppendLine();
        }
        return text.ToString();
    }
}

/// <summary>
/// Runs a policy's test cases: each case is a request and the decision expected for it (effect and rule).
/// </summary>
/// <remarks>
/// <code>
/// defaults:                  # optional: request parts every case starts from (a case's keys override them)
///   principal: { id: alice, roles: [operator] }
///   context: { environment: prod, hour: 10 }
/// cases:
///   - name: restart in prod needs an operator
///     request:
///       principal: { id: alice, roles: [operator] }          # id, roles
///       agent: { name: service-healer, autonomy: supervised } # name, autonomy
///       tool: { name: sample.restart, version: 1.0.0, risk: high, sideEffect: reversible, tags: [] }
///       args: { replicas: 3 }                                 # any JSON object; replaces the default args
///       assessment: { riskBand: high }                        # what an assessed tool's service answered (assessment.*)
///       resource: { target: checkout, environment: prod }     # target, environment
///       context: { environment: prod, hour: 10, budgetUsed: 0, stepsTaken: 0, autonomy: supervised, tainted: false, taintSources: [] }
///     effect: require_approval
///     rule: approve-high-risk
/// </code>
/// Only tool.name, tool.risk and tool.sideEffect must be given; the rest defaults (principal 'test-principal' with
/// no roles, agent 'test-agent', autonomy 'autonomous', environment 'dev', hour 12, no budget used, no steps taken).
/// </remarks>
public static class PolicyTestRunner
{
    private static readonly string[] FileKeys = ["defaults", "cases"];
    private static readonly string[] CaseKeys = ["name", "request", "effect", "rule"];
    private static readonly string[] CaseRequired = ["name", "request", "effect", "rule"];
    private static readonly string[] RequestKeys = ["principal", "agent", "tool", "args", "assessment", "resource", "context"];
    private static readonly Dictionary<string, string[]> SectionKeys = new(StringComparer.Ordinal)
    {
        ["principal"] = ["id", "roles"],
        ["agent"] = ["name", "autonomy"],
        ["tool"] = ["name", "version", "risk", "sideEffect", "tags"],
        ["resource"] = ["target", "environment"],
        ["context"] = ["environment", "hour", "budgetUsed", "stepsTaken", "autonomy", "tainted", "taintSources"],
    };

    /// <summary>Where the tests of a policy live by convention: <c>name.yaml</c> → <c>name.tests.yaml</c>.</summary>
    public static string TestsPathFor(string policyPath)
    {
        ArgumentNullException.ThrowIfNull(policyPath);
        return Path.Combine(Path.GetDirectoryName(policyPath) ?? "", Path.GetFileNameWithoutExtension(policyPath) + ".tests" + Path.GetExtension(policyPath));
    }

    /// <summary>Loads the policy and the test file and runs every case. Never throws for bad input: see <see cref="PolicyTestReport.Diagnostics"/>.</summary>
    public static PolicyTestReport Run(string policyPath, string testsPath)
    {
        ArgumentNullException.ThrowIfNull(policyPath);
        ArgumentNullException.ThrowIfNull(testsPath);
        CompiledPolicy policy;
        try
        {
            policy = PolicyLoader.LoadFile(policyPath);
        }
        catch (PolicyLoadException ex)
        {
            return new(policyPath, testsPath, null, null, null, ex.Diagnostics, [], []);
        }
        if (!File.Exists(testsPath))
        {
            return new(policyPath, testsPath, policy.Id, policy.Version, policy.ContentHash,
                [new Diagnostic(testsPath, 1, 1, DiagnosticCodes.FileNotFound, $"test file '{testsPath}' does not exist")], [], []);
        }
        return Run(policy, File.ReadAllText(testsPath), testsPath);
    }

    /// <summary>Runs the cases in <paramref name="testsYaml"/> against a loaded policy.</summary>
    public static PolicyTestReport Run(CompiledPolicy policy, string testsYaml, string testsFile)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(testsYaml);
        var source = new YamlSource(testsFile, testsYaml);
        var cases = ReadCases(source);
        if (source.HasErrors)
        {
            return new(policy.Source, testsFile, policy.Id, policy.Version, policy.ContentHash, source.Sorted(), [], []);
        }
        var results = new List<PolicyTestCaseResult>();
        foreach (var test in cases)
        {
            var decision = policy.Evaluate(test.Request);
            var passed = decision.Effect == test.Effect && string.Equals(decision.Rule, test.Rule, StringComparison.Ordinal);
            var actual = $"{PolicyEffects.Name(decision.Effect)} by rule '{decision.Rule}'";
            var message = passed ? actual : $"expected {PolicyEffects.Name(test.Effect)} by rule '{test.Rule}', got {actual} (line {test.Line})";
            results.Add(new(test.Name, test.Line, passed, test.Effect, test.Rule, decision.Effect, decision.Rule, message));
        }
        var expected = cases.Select(c => c.Rule).ToHashSet(StringComparer.Ordinal);
        var uncovered = policy.Rules.Select(r => r.Id).Where(id => !expected.Contains(id)).ToList();
        return new(policy.Source, testsFile, policy.Id, policy.Version, policy.ContentHash, [], results, uncovered);
    }

    private sealed record TestCase(string Name, int Line, PolicyRequest Request, GateEffect Effect, string Rule);

    private static List<TestCase> ReadCases(YamlSource source)
    {
        var cases = new List<TestCase>();
        var root = source.Parse("policy test cases");
        if (root is null || source.Mapping(root, "a policy test file", "the test file", FileKeys, ["cases"]) is not { } members)
        {
            return cases;
        }
        var defaults = new Dictionary<string, Dictionary<string, Member>>(StringComparer.Ordinal);
        Member? defaultArgs = null;
        Member? defaultAssessment = null;
        if (members.TryGetValue("defaults", out var defaultsMember) && source.Mapping(defaultsMember.Value, "'defaults'", "the defaults", RequestKeys, []) is { } sections)
        {
            foreach (var (name, section) in sections)
            {
                if (name == "args")
                {
                    defaultArgs = section;
                }
                else if (name == "assessment")
                {
                    defaultAssessment = section;
                }
                else if (source.Mapping(section.Value, $"'{name}' in the defaults", $"the defaults' {name}", SectionKeys[name], []) is { } inherited)
                {
                    defaults[name] = inherited;
                }
            }
        }
        if (!members.TryGetValue("cases", out var casesMember))
        {
            return cases;
        }
        if (casesMember.Value is not YamlSequenceNode sequence)
        {
            source.Report(casesMember.Value.Start, DiagnosticCodes.InvalidValue, "'cases' in the test file must be a list of cases");
            return cases;
        }
        var index = 0;
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in sequence.Children)
        {
            index++;
            var where = node is YamlMappingNode peek && peek.Children.TryGetValue(new YamlScalarNode("name"), out var named) && named is YamlScalarNode { Value: { Length: > 0 } caseName }
                ? $"case '{caseName}'"
                : $"case #{index}";
            if (source.Mapping(node, where, where, CaseKeys, CaseRequired) is not { } fields)
            {
                continue;
            }
            var before = source.Diagnostics.Count;
            var name = fields.TryGetValue("name", out var nameMember) ? source.Scalar(nameMember, where) : null;
            if (name is not null)
            {
                if (!names.TryAdd(name, YamlSource.Line(node)))
                {
                    source.Report(nameMember.Value.Start, DiagnosticCodes.InvalidValue, $"duplicate case name '{name}' (first at line {names[name]})");
                }
            }
            var effect = GateEffect.Forbid;
            if (fields.TryGetValue("effect", out var effectMember) && source.Scalar(effectMember, where) is { } effectText && !PolicyEffects.TryParse(effectText, out effect))
            {
                source.Report(effectMember.Value.Start, DiagnosticCodes.InvalidEffect, $"invalid effect '{effectText}' in {where} (expected permit, forbid or require_approval)");
            }
            var rule = fields.TryGetValue("rule", out var ruleMember) ? source.Scalar(ruleMember, where) : null;
            PolicyRequest? request = fields.TryGetValue("request", out var requestMember) ? ReadRequest(source, requestMember.Value, defaults, defaultArgs, defaultAssessment, where) : null;
            if (source.Diagnostics.Count == before && name is not null && rule is not null && request is { } built)
            {
                cases.Add(new TestCase(name, YamlSource.Line(node), built, effect, rule));
            }
        }
        return cases;
    }

    private static PolicyRequest? ReadRequest(YamlSource source, YamlNode node, Dictionary<string, Dictionary<string, Member>> defaults, Member? defaultArgs, Member? defaultAssessment, string where)
    {
        var requestWhere = "the request of " + where;
        if (source.Mapping(node, $"'request' in {where}", requestWhere, RequestKeys, []) is not { } sections)
        {
            return null;
        }
        var before = source.Diagnostics.Count;
        var values = new Dictionary<string, Dictionary<string, Member>>(StringComparer.Ordinal);
        foreach (var (section, allowed) in SectionKeys)
        {
            var merged = new Dictionary<string, Member>(StringComparer.Ordinal);
            if (defaults.TryGetValue(section, out var inherited))
            {
                foreach (var (key, member) in inherited)
                {
                    merged[key] = member;
                }
            }
            if (sections.TryGetValue(section, out var own) && source.Mapping(own.Value, $"'{section}' in {requestWhere}", $"{section} of {where}", allowed, []) is { } given)
            {
                foreach (var (key, member) in given)
                {
                    merged[key] = member;
                }
            }
            values[section] = merged;
        }

        string Get(string section, string key, string fallback) =>
            values[section].TryGetValue(key, out var member) ? source.Scalar(member, $"{section} of {where}") ?? fallback : fallback;

        IReadOnlyList<string> List(string section, string key)
        {
            if (!values[section].TryGetValue(key, out var member))
            {
                return [];
            }
            if (member.Value is YamlSequenceNode items && items.Children.All(i => i is YamlScalarNode))
            {
                return [.. items.Children.Select(i => ((YamlScalarNode)i).Value ?? "")];
            }
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{key}' in {section} of {where} must be a list of strings");
            return [];
        }

        double Number(string section, string key, double fallback, double max, bool integer)
        {
            if (!values[section].TryGetValue(key, out var member))
            {
                return fallback;
            }
            var text = source.Scalar(member, $"{section} of {where}", "number");
            if (text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && n <= max && (!integer || Math.Floor(n) == n))
            {
                return n;
            }
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{key}' in {section} of {where} must be {(integer ? "a whole number" : "a number")} from 0 to {max.ToString(CultureInfo.InvariantCulture)}");
            return fallback;
        }

        if (!values["tool"].ContainsKey("name"))
        {
            source.Report(node.Start, DiagnosticCodes.MissingKey, $"missing required key 'tool.name' in {requestWhere}");
        }
        var risk = Parse(source, values["tool"], "risk", PolicySchema.RiskValues, where, node);
        var sideEffect = Parse(source, values["tool"], "sideEffect", PolicySchema.SideEffectValues, where, node);
        var autonomy = Get("agent", "autonomy", "autonomous");
        var environment = Get("context", "environment", Get("resource", "environment", "dev"));
        var tool = new PolicyTool(Get("tool", "name", ""), Get("tool", "version", "1.0.0"), (RiskLevel)Math.Max(risk, 0), (SideEffect)Math.Max(sideEffect, 0), List("tool", "tags"));
        var principal = new PolicyPrincipal(Get("principal", "id", "test-principal"), List("principal", "roles"));
        var agent = new PolicyAgent(Get("agent", "name", "test-agent"), autonomy);
        var resource = new PolicyResource(Get("resource", "target", ""), Get("resource", "environment", environment));
        var context = new PolicyContext(environment, (int)Number("context", "hour", 12, 23, integer: true), Number("context", "budgetUsed", 0, double.MaxValue, integer: false),
            (int)Number("context", "stepsTaken", 0, int.MaxValue, integer: true), Get("context", "autonomy", autonomy))
        {
            Tainted = Get("context", "tainted", "false") switch
            {
                "true" => true,
                "false" => false,
                var other => Report(values["context"]["tainted"], $"'tainted' in context of {where} must be true or false, not '{other}'"),
            },
            TaintSources = List("context", "taintSources"),
        };

        bool Report(Member member, string message)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, message);
            return false;
        }

        JsonElement Mapping(string key, Member? fallback, JsonElement absent)
        {
            if ((sections.TryGetValue(key, out var own) ? own : fallback) is not { } member)
            {
                return absent;
            }
            if (member.Value is YamlMappingNode)
            {
                return ToJson(member.Value);
            }
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"'{key}' in {requestWhere} must be a mapping");
            return absent;
        }

        var args = Mapping("args", defaultArgs, JsonDocument.Parse("{}").RootElement.Clone());
        // A request without an assessment is one for a tool that is not assessed: assessment.* is missing.
        var assessment = Mapping("assessment", defaultAssessment, default);
        return source.Diagnostics.Count == before ? new PolicyRequest(principal, agent, tool, args, resource, context, assessment) : null;
    }

    private static int Parse(YamlSource source, Dictionary<string, Member> tool, string key, string[] values, string where, YamlNode request)
    {
        if (!tool.TryGetValue(key, out var member))
        {
            source.Report(request.Start, DiagnosticCodes.MissingKey, $"missing required key 'tool.{key}' in the request of {where}");
            return -1;
        }
        var text = source.Scalar(member, $"tool of {where}");
        var ordinal = text is null ? -1 : Array.IndexOf(values, text);
        if (text is not null && ordinal < 0)
        {
            source.Report(member.Value.Start, DiagnosticCodes.InvalidValue, $"invalid tool.{key} '{text}' in {where} (expected one of: {string.Join(", ", values)})");
        }
        return ordinal;
    }

    /// <summary>YAML to JSON with the YAML 1.2 core schema for plain scalars (null, booleans, numbers); quoted scalars stay strings.</summary>
    internal static JsonElement ToJson(YamlNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, node);
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in mapping.Children)
                {
                    writer.WritePropertyName(((YamlScalarNode)key).Value ?? "");
                    Write(writer, value);
                }
                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                {
                    Write(writer, item);
                }
                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (scalar.Style is not ScalarStyle.Plain)
                {
                    writer.WriteStringValue(text);
                }
                else if (text is "" or "~" or "null" or "Null" or "NULL")
                {
                    writer.WriteNullValue();
                }
                else if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
                {
                    writer.WriteBooleanValue(text[0] is 't' or 'T');
                }
                else if (IsYamlNumber(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    writer.WriteNumberValue(number);
                }
                else
                {
                    writer.WriteStringValue(text);
                }
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    private static bool IsYamlNumber(string text)
    {
        var start = text[0] is '-' or '+' ? 1 : 0;
        return start < text.Length && (char.IsAsciiDigit(text[start]) || text[start] == '.') && text.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or '.' or 'e' or 'E');
    }
}
