using System.Collections.Concurrent;
using Agentic.Core.Secrets;
using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;

namespace Agentic.Azure;

/// <summary>
/// Tool secrets from Azure Key Vault (<c>Agentic:KeyVault:Uri</c>, with <see cref="DefaultAzureCredential"/>: managed
/// identity in Azure, optionally the user-assigned one <c>Agentic:KeyVault:ClientId</c>). Values are cached for a short
/// time so a busy tool does not read the vault on every call; a secret that does not exist is <c>null</c> and is not
/// cached, so creating it takes effect at once.
/// </summary>
public sealed class KeyVaultSecretProvider : ISecretProvider
{
    /// <summary>The setting naming the vault, e.g. <c>https://my-vault.vault.azure.net/</c>.</summary>
    public const string UriSetting = "Agentic:KeyVault:Uri";

    /// <summary>The optional setting naming the user-assigned managed identity to read the vault with.</summary>
    public const string ClientIdSetting = "Agentic:KeyVault:ClientId";

    /// <summary>How long a value is served from the cache: rotations take effect within this time.</summary>
    public static readonly TimeSpan DefaultCacheDuration = TimeSpan.FromMinutes(5);

    private readonly SecretClient _client;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _cacheDuration;
    private readonly ConcurrentDictionary<string, (string Value, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>A provider reading <paramref name="vaultUri"/> with <see cref="DefaultAzureCredential"/>.</summary>
    public KeyVaultSecretProvider(Uri vaultUri, string? managedIdentityClientId, TimeProvider clock)
        : this(new SecretClient(vaultUri, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId })), clock, DefaultCacheDuration)
    {
    }

    /// <summary>A provider reading through <paramref name="client"/>, caching values for <paramref name="cacheDuration"/>.</summary>
    public KeyVaultSecretProvider(SecretClient client, TimeProvider clock, TimeSpan cacheDuration)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(clock);
        _client = client;
        _clock = clock;
        _cacheDuration = cacheDuration;
    }

    /// <inheritdoc />
    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        SecretName.Validate(name);
        var now = _clock.GetUtcNow();
        if (_cache.TryGetValue(name, out var cached) && cached.Until > now)
        {
            return cached.Value;
        }
        KeyVaultSecret secret;
        try
        {
            secret = await _client.GetSecretAsync(name, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            _cache.TryRemove(name, out _);
            return null;
        }
        _cache[name] = (secret.Value, now + _cacheDuration);
        return secret.Value;
    }
}
