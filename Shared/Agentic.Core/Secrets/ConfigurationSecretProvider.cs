using Microsoft.Extensions.Configuration;

namespace Agentic.Core.Secrets;

/// <summary>
/// Secrets from configuration: the secret <c>fleet-token</c> is <c>Agentic:Secrets:fleet-token</c> (environment
/// <c>Agentic__Secrets__fleet-token</c>). The default provider; good for local runs and for values an orchestrator
/// injects as environment variables. An empty value counts as missing.
/// </summary>
public sealed class ConfigurationSecretProvider(IConfiguration configuration) : ISecretProvider
{
    /// <summary>The configuration section holding the secrets.</summary>
    public const string Section = "Agentic:Secrets";

    /// <inheritdoc />
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        SecretName.Validate(name);
        var value = configuration[$"{Section}:{name}"];
        return Task.FromResult(string.IsNullOrEmpty(value) ? null : value);
    }
}
