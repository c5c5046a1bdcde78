using Agentic.Core.Audit;
using Agentic.Core.Secrets;

namespace Agentic.LocalHost;

/// <summary>
/// The audit signing key of a dev box: when no key is configured (<c>Agentic:Secrets:audit-signing-key</c>, or Key Vault),
/// `agentic up` and `agentic demo` make one on first use in an ignored owner-only file beside the demo keys
/// (<c>.agentic/audit-signing-key.pem</c>) and write its public half next to it (<c>.agentic/audit-public-key.pem</c>),
/// which is all `agentic audit verify` needs. Never in a <c>prod</c> deployment: there the key comes from the secret store.
/// </summary>
internal static class LocalAuditKey
{
    public const string PrivateFile = "audit-signing-key.pem";
    public const string PublicFile = "audit-public-key.pem";

    /// <summary>Where `agentic audit verify` looks for the public key when it is not given one.</summary>
    public static string PublicPath => Path.Combine(".agentic", PublicFile);

    /// <summary>Configures the dev key (kept in <paramref name="directory"/>) unless a key is configured; the path of the public key, or <c>null</c>.</summary>
    public static string? Ensure(ConfigurationManager configuration, string directory)
    {
        var privatePath = Path.Combine(directory, PrivateFile);
        var publicPath = Path.Combine(directory, PublicFile);
        var secret = configuration[$"{AuditOptions.Section}:SigningKeySecret"] ?? new AuditOptions().SigningKeySecret;
        if (!string.IsNullOrEmpty(configuration[$"{ConfigurationSecretProvider.Section}:{secret}"])
            || !string.IsNullOrEmpty(configuration["Agentic:KeyVault:Uri"])
            || string.Equals(configuration["Agentic:Environment"], "prod", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        string pem;
        if (File.Exists(privatePath))
        {
            pem = File.ReadAllText(privatePath);
        }
        else
        {
            pem = AuditSigner.NewKeyPem();
            using var file = new StreamWriter(LocalKeys.CreateOwnerOnly(privatePath));
            file.Write(pem);
        }
        var keys = AuditPublicKey.ParseAll(pem);
        if (keys.Count != 1)
        {
            throw new InvalidOperationException($"The audit signing key file '{Path.GetFullPath(privatePath)}' does not hold one P-256 key; delete it to have a new one made.");
        }
        File.WriteAllText(publicPath, keys[0].Pem);
        configuration[$"{ConfigurationSecretProvider.Section}:{secret}"] = pem;
        return Path.GetFullPath(publicPath);
    }
}
