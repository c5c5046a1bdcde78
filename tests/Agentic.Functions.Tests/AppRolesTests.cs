using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Agentic.Functions.Tests.Support;
using Agentic.Testing;
using YamlDotNet.RepresentationModel;

namespace Agentic.Functions.Tests;

// The app roles callers hold in their tokens are defined in infra/app-roles.json and applied to the Entra ID app
// registration by the azd preprovision hook, which hands the registration's client id to main.bicep.
public sealed partial class AppRolesTests(PublishedFunctionsApp functions)
{
    // The roles the architecture names (docs/architecture.md, "Identity and authority"), whether or not a constant names them yet.
    private static readonly string[] ArchitectureRoles = ["requester", "operator", "admin"];

    private static readonly string Roles = Path.Combine(Repo.Root, "infra", "app-roles.json");

    [Fact]
    public void AppRolesFile_DefinesEveryRoleTheCodeChecks_OnceEach_Enabled()
    {
        var needed = CodeRoles().Concat(PolicyRoles()).Concat(ArchitectureRoles).ToHashSet(StringComparer.Ordinal);
        var roles = JsonNode.Parse(File.ReadAllText(Roles))!.AsArray().Select(r => r!.AsObject()).ToList();
        var values = roles.Select(r => r["value"]!.GetValue<string>()).ToList();

        Assert.True(needed.IsSubsetOf(values), $"infra/app-roles.json lacks {string.Join(", ", needed.Except(values))} (it has {string.Join(", ", values)}).");
        Assert.Equal(values.Count, values.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        // Fixed ids: the hook updates the roles in place on every provision instead of replacing roles people hold.
        var ids = roles.Select(r => Guid.Parse(r["id"]!.GetValue<string>())).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(roles, r =>
        {
            Assert.True(r["isEnabled"]!.GetValue<bool>(), $"{r["value"]} is disabled.");
            var members = r["allowedMemberTypes"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
            Assert.Contains("User", members);
            Assert.Contains("Application", members);
        });
    }

    [Fact]
    public async Task PreprovisionHook_CreatesTheRegistrationWithTheCommittedRoles_AndHandsItsClientIdToTheTemplate()
    {
        const string created = "11111111-2222-3333-4444-555555555555";
        var (result, calls) = await RunHookAsync(existing: null, created);

        Assert.True(result.ExitCode == 0, result.ToString());
        var create = Assert.Single(calls, c => c.StartsWith("az ad app create --", StringComparison.Ordinal));
        Assert.Equal(Roles, RolesFileIn(create));
        Assert.Contains(" --sign-in-audience AzureADMyOrg ", create, StringComparison.Ordinal);
        Assert.Contains($"az ad app update --id {created} --identifier-uris api://{created} --requested-access-token-version 2", calls);
        Assert.Contains($"az ad sp create --id {created}", calls);
        Assert.Contains($"azd env set {ClientIdVariable()} {created}", calls);
    }

    [Fact]
    public async Task PreprovisionHook_UpdatesTheRolesOfTheEnvironmentsRegistration_InsteadOfCreatingAnother()
    {
        const string existing = "66666666-7777-8888-9999-000000000000";
        var (result, calls) = await RunHookAsync(existing, created: "not-expected");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(calls, c => c.StartsWith("az ad app create", StringComparison.Ordinal));
        var update = Assert.Single(calls, c => c.StartsWith($"az ad app update --id {existing} --app-roles ", StringComparison.Ordinal));
        Assert.Equal(Roles, RolesFileIn(update));
        Assert.Contains($"azd env set {ClientIdVariable()} {existing}", calls);
    }

    // Role names the deployed code declares: constants named *Role, and constants of a type named *Roles.
    private List<string> CodeRoles()
    {
        var roles = functions.Code.Constants
            .Where(c => c.Field.EndsWith("Role", StringComparison.Ordinal) || c.Type.EndsWith("Roles", StringComparison.Ordinal))
            .Select(c => c.Value)
            .ToList();
        Assert.NotEmpty(roles);
        return roles;
    }

    // Approver roles the shipped policies require.
    private static IEnumerable<string> PolicyRoles() =>
        Directory.GetFiles(Path.Combine(Repo.Root, "policies"), "*.yaml")
            .Where(f => !f.EndsWith(".tests.yaml", StringComparison.Ordinal))
            .SelectMany(f => PolicyRole().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value));

    // The hook azure.yaml runs before provisioning, run with stand-ins for az and azd that record each call (one line,
    // arguments separated by one space; none of the hook's arguments that matter here holds a space) and answer like the
    // real ones: an existing registration for the environment's name, or none.
    private static async Task<(ToolResult Result, List<string> Calls)> RunHookAsync(string? existing, string created)
    {
        var folder = Directory.CreateTempSubdirectory("agentic-hook-");
        try
        {
            var log = Path.Combine(folder.FullName, "calls.log");
            await StubAsync(folder.FullName, "az", """
                case "$1 $2" in
                  "account show") for a in "$@"; do if [ "$a" = tenantId ]; then echo "$STUB_TENANT"; fi; done ;;
                esac
                case "$1 $2 $3" in
                  "ad app list") echo "${STUB_EXISTING:-}" ;;
                  "ad app create") echo "$STUB_CREATED" ;;
                  "ad sp list") echo "" ;;
                esac
                """);
            await StubAsync(folder.FullName, "azd", "");
            var (shell, script) = Hook();
            var result = await Tool.RunAsync(shell, [script], Repo.Root, TimeSpan.FromMinutes(1), new Dictionary<string, string?>
            {
                ["PATH"] = folder.FullName + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
                ["STUB_LOG"] = log,
                ["STUB_TENANT"] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                ["STUB_EXISTING"] = existing ?? "",
                ["STUB_CREATED"] = created,
                ["AZURE_ENV_NAME"] = "trust-boundary",
                ["AGENTIC_AUTH_CLIENT_ID"] = null,
                ["AGENTIC_AUTH_APP_NAME"] = null,
            });
            var calls = File.Exists(log) ? [.. await File.ReadAllLinesAsync(log)] : new List<string>();
            return (result, calls);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task StubAsync(string folder, string name, string answers)
    {
        var path = Path.Combine(folder, name);
        await File.WriteAllTextAsync(path, "#!/bin/sh\necho \"" + name + " $*\" >> \"$STUB_LOG\"\n" + answers + "\nexit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    // The preprovision hook's shell and script as azure.yaml names them.
    private static (string Shell, string Script) Hook()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Repo.Root, "azure.yaml")))
        {
            yaml.Load(reader);
        }
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var posix = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["hooks"])["preprovision"])["posix"];
        var run = ((YamlScalarNode)posix["run"]).Value!;
        var shell = ((YamlScalarNode)posix["shell"]).Value!;
        var script = Path.GetFullPath(Path.Combine(Repo.Root, run));
        Assert.True(File.Exists(script), $"azure.yaml's preprovision hook {run} does not exist.");
        return (shell, script);
    }

    // The azd environment variable main.parameters.json gives main.bicep's authClientId.
    private static string ClientIdVariable()
    {
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Root, "infra", "main.parameters.json")))!;
        var value = parameters["parameters"]!["authClientId"]!["value"]!.GetValue<string>();
        return AzdVariable().Match(value) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException($"authClientId is '{value}', not an azd variable.");
    }

    private static string RolesFileIn(string call)
    {
        var arguments = call.Split(' ');
        var at = Array.IndexOf(arguments, "--app-roles");
        Assert.True(at >= 0 && at + 1 < arguments.Length && arguments[at + 1].StartsWith('@'), $"No --app-roles @file in: {call}");
        return Path.GetFullPath(arguments[at + 1][1..]);
    }

    [GeneratedRegex(@"^\s*role:\s*['""]?([\w-]+)", RegexOptions.Multiline)]
    private static partial Regex PolicyRole();

    [GeneratedRegex(@"^\$\{([A-Z0-9_]+)\}$")]
    private static partial Regex AzdVariable();
}
