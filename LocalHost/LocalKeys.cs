using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Agentic.Runtime.Http.Identity;

namespace Agentic.LocalHost;

/// <summary>
/// Keys for the demo principals (a requester, two operators, an admin, and a reviewer: the approver role the baseline
/// names for contracts the register scores high risk), made on first use by `agentic up` and
/// `agentic demo` and kept in an ignored file (<c>.agentic/keys.json</c>, readable by its owner only). The host is
/// configured with their hashes, the way any key is (<see cref="AgenticAuthOptions"/>); the keys themselves live only in
/// that file, for the person trying the host. Refused in a <c>prod</c> deployment.
/// </summary>
internal sealed record LocalKeys(IReadOnlyList<LocalKey> Keys)
{
    public const string DefaultPath = ".agentic/keys.json";

    private static readonly (string Principal, string Role)[] DemoPrincipals =
        [("demo-requester", AgenticRoles.Requester), ("oncall-operator", AgenticRoles.Operator), ("second-operator", AgenticRoles.Operator), ("demo-admin", AgenticRoles.Admin),
         ("contract-reviewer", "reviewer")];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The key of the first principal holding <paramref name="role"/>.</summary>
    public LocalKey For(string role) => Keys.First(k => k.Roles.Contains(role, StringComparer.OrdinalIgnoreCase));

    /// <summary>Reads the file, or makes it with new random keys when there is none.</summary>
    public static LocalKeys LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            var stored = JsonSerializer.Deserialize<LocalKeys>(File.ReadAllBytes(path), Json);
            if (stored?.Keys is { Count: > 0 } keys && keys.All(k => k.Key is { Length: >= 32 } && !string.IsNullOrWhiteSpace(k.Principal)))
            {
                return stored;
            }
            throw new InvalidOperationException($"The demo key file '{Path.GetFullPath(path)}' is not valid; delete it to have new keys made.");
        }
        var created = new LocalKeys([.. DemoPrincipals.Select(p => new LocalKey(p.Principal, [p.Role], NewKey()))]);
        using (var file = CreateOwnerOnly(path))
        {
            JsonSerializer.Serialize(file, created, Json);
        }
        return created;
    }

    /// <summary>The settings that configure the keys' hashes, numbered from <paramref name="firstIndex"/>.</summary>
    public Dictionary<string, string?> Settings(int firstIndex)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Keys.Count; i++)
        {
            var prefix = $"{AgenticAuthOptions.Section}:ApiKeys:{firstIndex + i}";
            settings[prefix + ":Sha256"] = Hash(Keys[i].Key);
            settings[prefix + ":Principal"] = Keys[i].Principal;
            for (var j = 0; j < Keys[i].Roles.Count; j++)
            {
                settings[$"{prefix}:Roles:{j}"] = Keys[i].Roles[j];
            }
        }
        return settings;
    }

    /// <summary>
    /// Creates a new file (and its folder) that only its owner may read and write, for keys; fails when the file exists
    /// rather than overwrite one.
    /// </summary>
    public static FileStream CreateOwnerOnly(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, create);
    }

    /// <summary>The hex SHA-256 that configures <paramref name="key"/>.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>One demo principal's key.</summary>
internal sealed record LocalKey(string Principal, IReadOnlyList<string> Roles, string Key);
