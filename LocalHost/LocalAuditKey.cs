using Agentic.Core.Audit;
using Agentic.Core.Secrets;

namespace Agentic.LocalHost;

/// <summary>
/// The audit signing key of a dev box: when no key is configured (<c>Agentic:Secrets:audit-signing-key</c>, or Key Vault),
/// `agentic up` and `agentic demo` make one on first use in an ignored owner-only file
/// (<c>.agentic/audit-signing-key.pem</c>) and write its public half beside it (<c>.agentic/audit-public-key.pem</c>),
/// which is all `agentic audit verify` needs. Never in a <c>prod</c> deployment: there the key comes from the secret store.
/// </summary>
internal static class LocalAuditKey
{
    public const string PrivatePath = ".agentic/audit-signing-key.pem";
    public const string PublicPath = ".agentic/audit-public-key.pem";

    /// <summary>Configures the dev key unless a key is configured; the path of the public key, or <c>null</c>.</summary>
    public static string? Ensure(ConfigurationManager configuration)
    {
        var secret = configuration[$"{AuditOptions.Section}:SigningKeySecret"] ?? new AuditOptions().SigningKeySecret;
        if (!string.IsNullOrEmpty(configuration[$"{ConfigurationSecretProvider.Section}:{secret}"])
            || !string.IsNullOrEmpty(configuration["Agentic:KeyVault:Uri"])
            || string.Equals(configuration["Agentic:Environment"], "prod", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        string pem;
        if (File.Exists(PrivatePath))
        {
            pem = File.ReadAllText(PrivatePath);
        }
        else
        {
            pem = AuditSigner.NewKeyPem();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(PrivatePath))!);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using var file = new StreamWriter(new FileStream(PrivatePath, create));
            file.Write(pem);
        }
        var keys = AuditPublicKey.ParseAll(pem);
        if (keys.Count != 1)
        {
            throw new InvalidOperationException($"The audit signing key file '{Path.GetFullPath(PrivatePath)}' does not hold one P-256 key; delete it to have a new one made.");
        }
        File.WriteAllText(PublicPath, keys[0].Pem);
        configuration[$"{ConfigurationSecretProvider.Section}:{secret}"] = pem;
        return Path.GetFullPath(PublicPath);
    }
}
