using Agentic.Core.Agents;
using Agentic.Core.Runs;
using Agentic.Core.Tools.Builtin;

namespace Agentic.Core.Tests.Runs;

/// <summary>What test deployments admit: an environment and run target rules.</summary>
internal static class Admissions
{
    /// <summary>A dev deployment whose runs may target <c>https://svc.test</c>, <c>http://svc.test</c> and <c>http://x</c>, any path.</summary>
    public static RunAdmission Default { get; } = For("dev");

    /// <summary>A deployment in <paramref name="environment"/> with <paramref name="rules"/> (the default ones when none).</summary>
    public static RunAdmission For(string environment, AgentCatalog? agents = null, params EndpointRule[] rules)
    {
        agents ??= AgentCatalog.Default;
        var options = new TargetOptions();
        foreach (var rule in rules.Length > 0 ? rules : [Rule("https", "svc.test"), Rule("http", "svc.test"), Rule("http", "x")])
        {
            options.Allow.Add(rule);
        }
        return new RunAdmission(agents, environment, new RunTargets(options));
    }

    public static EndpointRule Rule(string scheme, string host, int? port = null, string path = "/**", bool allowPrivate = false)
    {
        var rule = new EndpointRule { Scheme = scheme, Host = host, Port = port, AllowPrivate = allowPrivate };
        rule.Paths.Add(path);
        return rule;
    }
}
