using Agentic.Core.Secrets;

namespace Agentic.Testing;

/// <summary>A secret store holding one secret: <c>secret</c> is <c>value</c>; every other name is absent.</summary>
public sealed class OneSecret(string secret, string value) : ISecretProvider
{
    /// <inheritdoc />
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken) => Task.FromResult(name == secret ? value : null);
}
