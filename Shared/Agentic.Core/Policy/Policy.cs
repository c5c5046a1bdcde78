using System.Reflection;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy;

/// <summary>What a policy answers for one request: the effect and the rule that decided it.</summary>
public sealed record PolicyResult(GateEffect Effect, string Rule, string Reason, string? ApproverRole = null);

/// <summary>The policies that ship inside the product.</summary>
public static class ShippedPolicies
{
    /// <summary>The role whose members may approve high-risk actions under the baseline policy.</summary>
    public const string ApproverRole = "operator";

    private static readonly Lazy<CompiledPolicy> LazyBaseline = new(() =>
    {
        using var stream = typeof(ShippedPolicies).Assembly.GetManifestResourceStream("Agentic.Core.policies.baseline.yaml")
            ?? throw new InvalidOperationException("The baseline policy is not embedded in Agentic.Core.");
        using var reader = new StreamReader(stream);
        return PolicyLoader.Load(reader.ReadToEnd(), "policies/baseline.yaml");
    });

    /// <summary>
    /// <c>policies/baseline.yaml</c>, compiled: read-only tools run, high- and critical-risk changes need an
    /// operator, irreversible tools never run in production, contracts the register scores high risk need a reviewer,
    /// everything else is denied.
    /// </summary>
    public static CompiledPolicy Baseline => LazyBaseline.Value;

    /// <summary>The policy at <paramref name="path"/>, or the baseline when no path is given. Throws <see cref="PolicyLoadException"/> with every diagnostic.</summary>
    public static CompiledPolicy Load(string? path) => string.IsNullOrWhiteSpace(path) ? Baseline : PolicyLoader.LoadFile(path);
}
