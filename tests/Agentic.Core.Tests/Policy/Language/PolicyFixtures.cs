using System.Globalization;
using System.Text;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;

namespace Agentic.Core.Tests.Policy.Language;

/// <summary>Policies and requests for the policy language tests.</summary>
internal static class PolicyFixtures
{
    public const string FileName = "test.yaml";

    /// <summary>
    /// A policy with one rule whose condition is <paramref name="when"/>: the condition starts at line 6, column 11.
    /// </summary>
    public static string OneRule(string when, string effect = "permit") => $"""
        id: p
        version: "1"
        rules:
          - id: r1
            effect: {effect}
            when: {when}

        """;

    /// <summary>A policy from rule blocks written as YAML list items (each starting with "- id:").</summary>
    public static string PolicyOf(params string[] rules)
    {
        var text = new StringBuilder("id: p\nversion: \"1\"\nrules:\n");
        foreach (var rule in rules)
        {
            foreach (var line in rule.Split('\n'))
            {
                text.Append("  ").Append(line).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>A rule block: <c>- id: ...</c>, its effect and, when given, its condition and approval.</summary>
    public static string Rule(string id, string effect, string? when = null)
    {
        var text = $"- id: {id}\n  effect: {effect}";
        if (when is not null)
        {
            text += $"\n  when: \"{when.Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
        }
        if (effect == "require_approval")
        {
            text += "\n  approval:\n    role: operator\n    timeout: 30m";
        }
        return text;
    }

    public static CompiledPolicy Load(string yaml) => PolicyLoader.Load(yaml, FileName);

    /// <summary>The diagnostics of a policy that must fail to load.</summary>
    public static IReadOnlyList<Diagnostic> Problems(string yaml) => Assert.Throws<PolicyLoadException>(() => PolicyLoader.Load(yaml, FileName)).Diagnostics;

    /// <summary>The single diagnostic of a policy that must fail to load with exactly one problem.</summary>
    public static Diagnostic Problem(string yaml) => Assert.Single(Problems(yaml));

    public static PolicyRequest Request(
        string tool = "sample.health",
        RiskLevel risk = RiskLevel.Low,
        SideEffect sideEffect = SideEffect.ReadOnly,
        string args = "{}",
        string environment = "prod",
        int hour = 10,
        string[]? roles = null,
        string[]? tags = null,
        string principal = "alice",
        string agent = "service-healer",
        string autonomy = "supervised",
        string? contextAutonomy = null,
        double budgetUsed = 0,
        int stepsTaken = 0,
        string target = "checkout",
        string? resourceEnvironment = null,
        string version = "1.0.0") =>
        new(
            new PolicyPrincipal(principal, roles ?? ["operator"]),
            new PolicyAgent(agent, autonomy),
            new PolicyTool(tool, version, risk, sideEffect, tags ?? []),
            TestJson.Parse(args),
            new PolicyResource(target, resourceEnvironment ?? environment),
            new PolicyContext(environment, hour, budgetUsed, stepsTaken, contextAutonomy ?? autonomy));

    /// <summary>Whether a one-rule permit policy with condition <paramref name="when"/> matches <paramref name="request"/>.</summary>
    public static bool Matches(string when, PolicyRequest request)
    {
        var policy = PolicyLoader.Load(OneRule(Quote(when)), FileName, analyze: false);
        return policy.Evaluate(request).Rule == "r1";
    }

    /// <summary>A condition as a double-quoted YAML scalar (so ':' and '#' in it are safe).</summary>
    public static string Quote(string when) => "\"" + when.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
