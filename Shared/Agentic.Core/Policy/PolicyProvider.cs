using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy;

/// <summary>
/// The policies the gate applies right now: the enforced one, and optionally one in shadow (log-only) mode whose
/// decisions are recorded next to the enforced ones and never acted on.
/// </summary>
/// <param name="Enforced">The policy whose decisions the gate enforces.</param>
/// <param name="Shadow">A policy evaluated for the record only, or <c>null</c>.</param>
public sealed record ActivePolicies(CompiledPolicy Enforced, CompiledPolicy? Shadow = null);

/// <summary>
/// Where the gate gets its policies. A provider that can not answer (its store is unreachable, a stored policy
/// no longer compiles) throws, and the gate fails closed.
/// </summary>
public interface IPolicyProvider
{
    /// <summary>The active policies.</summary>
    ValueTask<ActivePolicies> GetAsync(CancellationToken cancellationToken);
}

/// <summary>Fixed policies, loaded once: tests, tools, and hosts without a policy store.</summary>
public sealed class StaticPolicyProvider(CompiledPolicy enforced, CompiledPolicy? shadow = null) : IPolicyProvider
{
    private readonly ActivePolicies _active = new(enforced ?? throw new ArgumentNullException(nameof(enforced)), shadow);

    /// <inheritdoc />
    public ValueTask<ActivePolicies> GetAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_active);
}
