using Agentic.Core.Policy.Language;

namespace Agentic.Core.Policy.Lifecycle;

/// <summary>A policy a host is configured with: compiled, with its exact text and where it came from.</summary>
/// <param name="Policy">The compiled policy.</param>
/// <param name="Yaml">Its YAML text (what the store keeps).</param>
/// <param name="Path">The file it was read from (<c>Agentic:Policy:Path</c>), or <c>null</c> for the shipped baseline.</param>
public sealed record ConfiguredPolicy(CompiledPolicy Policy, string Yaml, string? Path)
{
    /// <summary>Whether it was configured explicitly (a path), rather than the shipped baseline.</summary>
    public bool Explicit => Path is not null;

    /// <summary>Whether <paramref name="slot"/> holds exactly this policy: id, version and text.</summary>
    public bool IsIn(PolicySlot? slot) =>
        slot is not null && slot.Is(Policy.Id, Policy.Version) && string.Equals(slot.ContentHash, Policy.ContentHash, StringComparison.Ordinal);
}

/// <summary>One activation the start-up bootstrap makes.</summary>
/// <param name="Policy">The policy to store and activate.</param>
/// <param name="Mode">Into the enforced or the shadow slot.</param>
/// <param name="Reason">Why, recorded in the history.</param>
public sealed record BootstrapActivation(ConfiguredPolicy Policy, PolicyMode Mode, string Reason);

/// <summary>
/// Puts the configured policy in force when a host starts: stores it, and activates it as <see cref="PolicyLifecycle.StartupPrincipal"/>
/// <list type="bullet">
/// <item>when no policy is enforced yet (a new store), or</item>
/// <item>when <c>Agentic:Policy:Path</c> names a policy explicitly and its (id, version, hash) is not the enforced one.</item>
/// </list>
/// Without a path the configured policy is the shipped baseline, and a version an admin activated since stays in force.
/// A configured policy whose YAML says <c>mode: shadow</c> goes to the shadow slot; the enforced slot keeps its policy,
/// or gets the baseline when it has none.
/// </summary>
public sealed class PolicyBootstrap(IPolicyStore store)
{
    /// <summary>The shipped baseline (<c>policies/baseline.yaml</c>), with its text.</summary>
    public static ConfiguredPolicy Baseline { get; } = LoadBaseline();

    /// <summary>The policy at <paramref name="path"/>, or the baseline when no path is given.</summary>
    /// <exception cref="PolicyLoadException">The policy has problems (every diagnostic is listed).</exception>
    public static ConfiguredPolicy Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return Baseline;
        }
        if (!File.Exists(path))
        {
            // The loader reports the missing file as a diagnostic, like every other load problem.
            PolicyLoader.LoadFile(path);
        }
        // One read: the store keeps exactly the text whose hash the decisions record.
        var yaml = File.ReadAllText(path);
        return new ConfiguredPolicy(PolicyLoader.Load(yaml, path), yaml, path);
    }

    /// <summary>The activations the bootstrap makes for the active set <paramref name="active"/> (pure).</summary>
    public static IReadOnlyList<BootstrapActivation> Plan(ActivePolicySet active, ConfiguredPolicy configured, ConfiguredPolicy baseline)
    {
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(configured);
        ArgumentNullException.ThrowIfNull(baseline);
        var steps = new List<BootstrapActivation>();
        var source = configured.Explicit ? $"configured by Agentic:Policy:Path ({configured.Path})" : "the shipped baseline";
        if (configured.Policy.Mode == PolicyMode.Shadow)
        {
            if (active.Enforced is null)
            {
                steps.Add(new(baseline, PolicyMode.Enforce, $"No policy was enforced and the configured policy is shadow-only: {PolicyLifecycle.Name(baseline.Policy.Id, baseline.Policy.Version)} enforces."));
            }
            if (!configured.IsIn(active.Shadow))
            {
                steps.Add(new(configured, PolicyMode.Shadow, $"Host start: {source}, mode: shadow."));
            }
        }
        else if (active.Enforced is null)
        {
            steps.Add(new(configured, PolicyMode.Enforce, $"Host start: no policy was enforced; {source}."));
        }
        else if (configured.Explicit && !configured.IsIn(active.Enforced))
        {
            steps.Add(new(configured, PolicyMode.Enforce, $"Host start: {source} replaces {active.Enforced}."));
        }
        return steps;
    }

    /// <summary>Stores and activates what <see cref="Plan"/> says for the store's active set; answers what it did.</summary>
    /// <exception cref="PolicyConflictException">The configured id and version are stored with other text (change the version).</exception>
    public async Task<IReadOnlyList<BootstrapActivation>> RunAsync(ConfiguredPolicy configured, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configured);
        var active = await store.GetActiveAsync(cancellationToken);
        var steps = Plan(active, configured, Baseline);
        foreach (var step in steps)
        {
            var policy = step.Policy.Policy;
            await store.SaveAsync(policy.Id, policy.Version, step.Policy.Yaml, PolicyLifecycle.StartupPrincipal, cancellationToken);
            await store.ActivateAsync(policy.Id, policy.Version, step.Mode, PolicyLifecycle.StartupPrincipal, step.Reason, cancellationToken);
        }
        return steps;
    }

    private static ConfiguredPolicy LoadBaseline()
    {
        using var stream = typeof(ShippedPolicies).Assembly.GetManifestResourceStream("Agentic.Core.policies.baseline.yaml")
            ?? throw new InvalidOperationException("The baseline policy is not embedded in Agentic.Core.");
        using var reader = new StreamReader(stream);
        var yaml = reader.ReadToEnd();
        return new ConfiguredPolicy(PolicyLoader.Load(yaml, "policies/baseline.yaml"), yaml, null);
    }
}
