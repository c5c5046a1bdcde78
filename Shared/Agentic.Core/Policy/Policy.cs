using System.Reflection;
using Agentic.Core.Agents;
using Agentic.Core.Policy.Language;
using Agentic.Core.Tools;

namespace Agentic.Core.Policy;

/// <summary>What a policy answers for one request: the effect and the rule that decided it.</summary>
public sealed record PolicyResult(GateEffect Effect, string Rule, string Reason, string? ApproverRole = null);

/// <summary>A policy the gate evaluates. Implementations must be deterministic for a given input.</summary>
public interface IPolicy
{
    /// <summary>The policy's id, recorded in every decision.</summary>
    string Id { get; }

    /// <summary>The policy's version, recorded in every decision.</summary>
    string Version { get; }

    /// <summary>SHA-256 of the policy's source, recorded in every decision: proves which text decided.</summary>
    string ContentHash { get; }

    /// <summary>Evaluates one step. Default deny: a policy with no matching rule forbids.</summary>
    PolicyResult Evaluate(GateInput request, ToolDescriptor tool);
}

/// <summary>A compiled YAML policy (see <c>policies/README.md</c>) behind the gate's <see cref="IPolicy"/>.</summary>
public sealed class DeclarativePolicy(CompiledPolicy compiled, TimeProvider clock) : IPolicy
{
    /// <summary>The compiled policy.</summary>
    public CompiledPolicy Compiled => compiled;

    /// <inheritdoc />
    public string Id => compiled.Id;

    /// <inheritdoc />
    public string Version => compiled.Version;

    /// <inheritdoc />
    public string ContentHash => compiled.ContentHash;

    /// <inheritdoc />
    public PolicyResult Evaluate(GateInput request, ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Agents run supervised until autonomy levels arrive: the policy decides, approvals gate the risky steps.
        var policyRequest = PolicyRequest.FromGate(request, tool, clock.GetUtcNow(), autonomy: "supervised");
        return compiled.Evaluate(in policyRequest).ToResult();
    }
}

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
    /// operator, irreversible tools never run in production, everything else is denied.
    /// </summary>
    public static CompiledPolicy Baseline => LazyBaseline.Value;

    /// <summary>The policy at <paramref name="path"/>, or the baseline when no path is given. Throws <see cref="PolicyLoadException"/> with every diagnostic.</summary>
    public static CompiledPolicy Load(string? path) => string.IsNullOrWhiteSpace(path) ? Baseline : PolicyLoader.LoadFile(path);
}
